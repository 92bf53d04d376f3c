"""x2APIC mode (drivers/lapic.c, issue 9). Bochs Skylake-X (bochs-vmx, 2
CPUs) has an x2APIC: with x2apic=on Lamina switches both CPUs to it, starts
the AP with INIT-SIPI-SIPI through the x2APIC ICR, and a VM on each pCPU
runs, pauses (the pCPU 1 vCPU is kicked with an NMI through the ICR MSR),
shows its counters and is destroyed. QEMU 7.2 TCG has no x2APIC: with
x2apic=on Lamina says so and carries on in xAPIC mode on every CPU.

A machine whose MADT lists APIC IDs above 254 cannot be made with these
emulators (QEMU TCG would need x2APIC; Bochs numbers its CPUs from 0):
tests/unit/test_acpi.c checks the MADT side and the mode choice.
"""

import os
import re

import pytest

from conftest import LOGROOT, REPO, booted
from test_guests import CFG, DEBUG_EXIT_0, start_and_wait

BOOT = pytest.mark.timeout(420)
GUEST = os.path.join(REPO, "build", "guests", "cksum32.bin")

# One cksum32 guest per pCPU: it loops with no exits at all, so only a
# kick (an NMI on pCPU 1, the preemption timer on pCPU 0) gets it out.
VM = """  - name: {name}
    cpus: [{cpu}]
    memory:
      - {{gpa: 0x0, size: 1M}}
      - {{gpa: 0x100000, size: 1M, image: {image}}}
      - {{gpa: 0x400000, size: 4M}}
    boot: {{kind: raw32, entry: 0x100000}}
    devices:
      - uart: {{port: 0x3f8, irq: 4}}
      - debug_exit: {{port: 0xf4, size: 4}}
"""


def two_vm_config():
    os.makedirs(LOGROOT, exist_ok=True)
    path = os.path.join(LOGROOT, "x2apic-2vm.yaml")
    text = "vms:\n" + "".join(VM.format(name=f"spin{c}", cpu=c, image=GUEST)
                             for c in (0, 1))
    if not os.path.exists(path) or open(path).read() != text:
        with open(path, "w") as f:
            f.write(text)
    return path


@BOOT
def test_x2apic_on_bochs_vmx():
    # (Bochs' ryzen model, the SVM one, has no x2APIC.)
    if not os.path.exists(GUEST):
        pytest.skip(f"{GUEST} not built (make)")
    with booted("bochs-vmx", "x2apic=on", logname="x2apic-bochs-vmx",
                config=two_vm_config()) as con:
        con.require(full=True)
        text = con.boot_text
        assert "lapic: APIC ID 0: x2APIC mode (switched by Lamina)" in text, \
            text
        assert re.search(r"lapic: APIC ID 1: x2APIC mode \((switched by "
                         r"Lamina|from the firmware)\)", text), text
        assert "smp: 2 of 2 CPUs online" in text, text
        for cpu in (0, 1):
            out = "\n".join(con.run(f"start spin{cpu}", timeout=60))
            assert f"vm 'spin{cpu}' started on pCPU {cpu}" in out, out
        for cpu in (0, 1):
            # The vCPU is stopped where it is: on pCPU 1 by an NMI sent
            # through the x2APIC ICR.
            out = "\n".join(con.run(f"pause spin{cpu}", timeout=60))
            assert re.search(rf"vm 'spin{cpu}' paused in \d+ us", out), out
            out = "\n".join(con.run(f"stats spin{cpu}", timeout=60))
            assert "spin" in out and "FAIL" not in out, out
            out = "\n".join(con.run(f"resume spin{cpu}", timeout=60))
            assert "error" not in out.lower(), out
        for cpu in (1, 0):
            out = "\n".join(con.run(f"destroy spin{cpu}", timeout=60))
            assert "error" not in out.lower(), out
        vms = "\n".join(con.run("vms"))
        assert "spin" not in vms, vms
        cpus = "\n".join(con.run("cpus"))
        assert "offline" not in cpus, cpus
        assert "FAIL: checksum" not in con.machine.transcript.text()


@pytest.mark.timeout(480)
def test_x2apic_two_vcpus_bochs_vmx_4():
    """guest-smp32.yaml on 4 CPUs in x2APIC mode: two vCPUs of one VM on
    pCPUs 1 and 2 add to one counter; the debug-exit on vCPU 0 stops the
    VM, and the stop's NMI, sent through the x2APIC ICR, takes vCPU 1 (it
    spins with interrupts off) off pCPU 2."""
    with booted("bochs-vmx-4", "x2apic=on", logname="x2apic-bochs-vmx-4",
                config=os.path.join(CFG, "guest-smp32.yaml")) as con:
        con.require(full=True)
        text = con.boot_text
        for apic in range(4):
            assert f"lapic: APIC ID {apic}: x2APIC mode" in text, text
        assert "smp: 4 of 4 CPUs online" in text, text
        state, reason = start_and_wait(con, "smp", 120)
        log = "\n".join(con.run("log"))
        assert (state, reason) == ("stopped", DEBUG_EXIT_0), log
        assert log.count("PASS") == 4 and "FAIL" not in log, log
        for _ in range(20):
            line = [ln for ln in con.run("stats smp") if "vcpus" in ln][0]
            if line.strip() == "vcpus      2, 0 running":
                break
            con.machine._drain(0.5)
        assert line.strip() == "vcpus      2, 0 running", line
        state, reason = start_and_wait(con, "other")
        assert (state, reason) == ("stopped", DEBUG_EXIT_0)


@BOOT
def test_x2apic_on_without_x2apic_qemu():
    with booted("qemu-bios", "x2apic=on", logname="x2apic-qemu") as con:
        con.require(full=True)
        text = con.boot_text
        assert ("lapic: x2apic=on: this CPU has no x2APIC (CPUID.1:ECX[21] "
                "clear); staying in xAPIC mode") in text, text
        assert "x2APIC mode (" not in text, text
        assert "smp: 4 of 4 CPUs online" in text, text
        # IPIs still work in xAPIC mode: every CPU answers `cpus`.
        cpus = "\n".join(con.run("cpus"))
        assert "offline" not in cpus, cpus


@BOOT
def test_x2apic_bad_value_qemu():
    with booted("qemu-bios", "x2apic=maybe", logname="x2apic-bad") as con:
        con.require(full=True)
        assert "lapic: x2apic=maybe: want on or off; ignored" in \
            con.boot_text, con.boot_text
        assert "smp: 4 of 4 CPUs online" in con.boot_text


@BOOT
def test_apic_id_above_254_without_x2apic_left_out():
    """test.ghost_cpu adds APIC ID 300 to the MADT's list on QEMU, which has
    no x2APIC: xAPIC cannot address it, so it is named and left out without
    an INIT-SIPI-SIPI (an 8-bit destination would hit APIC 300 & 0xff)."""
    with booted("qemu-bios", "test.ghost_cpu=300",
                logname="x2apic-ghost-300") as con:
        con.require(full=True)
        text = con.boot_text
        if "adding APIC ID 300" not in text:
            pytest.skip("test.ghost_cpu takes IDs up to 0xfe only "
                        "(kernel/testhooks.c)")
        assert ("smp: cpu 4 (APIC 300): APIC ID above 254 needs x2APIC mode; "
                "left out") in text, text
        assert "smp: 4 of 5 CPUs online" in text, text
        rows = [ln for ln in con.run("cpus") if re.match(r"\s*4\s+300\s", ln)]
        assert rows and "offline" in rows[0] and "x2APIC" in rows[0], rows
