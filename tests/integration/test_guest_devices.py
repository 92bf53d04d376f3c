"""Test guests for what guests see beyond raw32 and raw64 basics
(tests/guests): real mode, string port I/O, fw_cfg, the 16550A, all of a
VM's RAM, a read-only region, VMX and SVM instructions, two vCPUs, HLT
with interrupts off. Each guest prints one PASS or FAIL line per check on
its UART and "SUMMARY: done", then ends through the debug-exit port with
its number of failures (0), unless its test says otherwise. Each runs on
AMD SVM (qemu-bios) and Intel VMX (bochs-vmx); the two-vCPU one needs a
machine with 4 CPUs."""

import os
import re

import pytest

from conftest import booted  # first: it puts tools/ (emu) on sys.path
import emu  # noqa: E402
from test_guests import CFG, DEBUG_EXIT_0, GUESTS as BASIC, SVM_VMX, Guest, \
    start_and_wait, stats

# Room for a Bochs boot at its boot_timeout (180 s; about 3 s on the
# machine these were written on) and a guest at its WAIT.
SLOW = pytest.mark.timeout(480)

# Every guest: no triple fault, no nested page fault (mempat32 touches
# all of its RAM and nothing else).
CLEAN = {"shutdown": 0, "npf": 0}

GUESTS = {
    "real16": Guest("guest-real16.yaml", "real16", 8, DEBUG_EXIT_0,
                    dict(CLEAN, cpuid=1), ("SUMMARY: done",)),
    "strio": Guest("guest-strio32.yaml", "strio", 9, DEBUG_EXIT_0, CLEAN,
                   ("SUMMARY: done", "strio: printed by rep outsb",
                    "strio: printed by rep fs outsb")),
    "fwcfg": Guest("guest-fwcfg32.yaml", "fwcfg", 8, DEBUG_EXIT_0, CLEAN,
                   ("SUMMARY: done",)),
    "uart": Guest("guest-uart32.yaml", "uart", 17, DEBUG_EXIT_0, CLEAN,
                  ("SUMMARY: done",)),
    "mempat": Guest("guest-mempat32.yaml", "mempat", 2, DEBUG_EXIT_0, CLEAN,
                    ("SUMMARY: done",)),
    "vminsn": Guest("guest-vminsn32.yaml", "vminsn", 16, DEBUG_EXIT_0,
                    CLEAN, ("SUMMARY: done",)),
}
# Seconds from `start` to the VM's end when not 60: mempat32 writes and
# reads 17 MiB (4 s under Bochs, under 1 s under QEMU when written).
WAIT = {"mempat": 120}


def console_lines(log, vm):
    """What the VM printed, one entry per line, from the `log` output."""
    return re.findall(rf"vm '{vm}' console: ([^\r\n]*)", log)


def check_console(log, g):
    """g.passes PASS lines, no FAIL line, g.lines present, and nothing
    else: a stray byte (string I/O gone wrong, a loopback byte that leaked
    out) spoils a line and shows here."""
    lines = console_lines(log, g.vm)
    passes = [ln for ln in lines if ln.startswith("PASS: ")]
    assert len(passes) == g.passes, log
    assert not [ln for ln in lines if ln.startswith("FAIL")], log
    for line in g.lines:
        assert line in lines, (line, log)
    others = [ln for ln in lines if not ln.startswith("PASS: ")
              and ln not in g.lines]
    assert not others, others


@SLOW
@pytest.mark.parametrize("setup", SVM_VMX)
@pytest.mark.parametrize("guest", list(GUESTS))
def test_device_guest_passes(guest, setup):
    """real16, string I/O, fw_cfg, the UART, all RAM, #UD for VMX/SVM."""
    g = GUESTS[guest]
    with booted(setup, logname=f"guest-{g.vm}-{setup}",
                config=os.path.join(CFG, g.config)) as con:
        con.require(full=True)
        state, reason = start_and_wait(con, g.vm, WAIT.get(guest, 60))
        log = "\n".join(con.run("log"))
        assert (state, reason) == ("stopped", g.end), log
        check_console(log, g)
        head, counts = stats(con, g.vm)
        assert head.startswith(f"vm '{g.vm}': stopped"), head
        for kind, n in g.counts.items():
            assert counts[kind] == n, (kind, counts)


@SLOW
@pytest.mark.parametrize("setup", SVM_VMX)
def test_rom_write_crashes_the_vm(setup):
    """A write to a readonly region is a nested page fault: the VM
    crashes, after its two PASS lines and its summary."""
    g = Guest("guest-rom32.yaml", "rom", 2,
              "nested page fault: write at GPA 0x200000", {"npf": 1},
              ("SUMMARY: done",))
    with booted(setup, logname=f"guest-rom-{setup}",
                config=os.path.join(CFG, g.config)) as con:
        con.require(full=True)
        state, reason = start_and_wait(con, g.vm)
        log = "\n".join(con.run("log"))
        assert state == "crashed", (state, reason, log)
        assert reason.startswith(g.end), reason
        check_console(log, g)
        head, counts = stats(con, g.vm)
        assert head.startswith(f"vm '{g.vm}': crashed: {g.end}"), head
        assert counts["npf"] == 1, counts
        assert con.run("version")[0].startswith("Lamina ")


SMP_SETUPS = ("qemu-bios", "bochs-vmx-4")


@SLOW
@pytest.mark.parametrize("setup", SMP_SETUPS)
def test_two_vcpus_share_memory(setup):
    """Two vCPUs of one VM run at once: 2 x 100000 LOCK XADD on a shared
    counter give 200000; debug-exit from vCPU 0 stops both; a VM started
    afterwards on another pCPU runs to its end."""
    cpus = emu.SETUPS[setup].cpus
    if cpus < 4:
        pytest.skip(f"SKIP {setup}: guest-smp32.yaml puts its VMs on pCPUs "
                    f"1-3 and {setup} has {cpus} CPUs (tools/emu.py has no "
                    f"Bochs setup with 4)")
    g = Guest("guest-smp32.yaml", "smp", 4, DEBUG_EXIT_0, CLEAN,
              ("SUMMARY: done",))
    with booted(setup, logname=f"guest-smp-{setup}",
                config=os.path.join(CFG, g.config)) as con:
        con.require(full=True)
        state, reason = start_and_wait(con, "smp", 120)
        log = "\n".join(con.run("log"))
        assert (state, reason) == ("stopped", g.end), log
        check_console(log, g)
        head, _ = stats(con, "smp")
        assert head.startswith("vm 'smp': stopped"), head
        # vCPU 1 spins with interrupts off: the stop's kick must still
        # take it off its pCPU (a bounded wait: the kick is asynchronous).
        for _ in range(20):
            line = [l for l in con.run("stats smp") if "vcpus" in l][0]
            if line.strip() == "vcpus      2, 0 running":
                break
            con.machine._drain(0.5)
        assert line.strip() == "vcpus      2, 0 running", line
        rows = "\n".join(con.run("vms"))
        assert re.search(r"\bsmp\s+stopped\b", rows), rows

        # The raw32 hello guest (test_guests.py) in the VM 'other'.
        hello = Guest(g.config, "other", BASIC["raw32"].passes, DEBUG_EXIT_0,
                      CLEAN, ("SUMMARY: done", "hello from a raw32 guest"))
        state, reason = start_and_wait(con, "other")
        log = "\n".join(con.run("log"))
        assert (state, reason) == ("stopped", hello.end), log
        check_console(log, hello)
        rows = "\n".join(con.run("vms"))
        assert re.search(r"\bsmp\s+stopped\b", rows), rows
        assert re.search(r"\bother\s+stopped\b", rows), rows


HLT_LINE = r"vm 'halt' vCPU 0: HLT with interrupts off at rip 0x[0-9a-f]+"


@SLOW
@pytest.mark.parametrize("setup", SVM_VMX)
def test_hlt_with_interrupts_off_waits(setup):
    """CLI; HLT: Lamina says so in its log and keeps the VM running (its
    vCPU waits for ever); the monitor goes on answering."""
    with booted(setup, logname=f"guest-halt-{setup}",
                config=os.path.join(CFG, "guest-halt32.yaml")) as con:
        con.require(full=True)
        con.type("start halt\r")
        # Either the promised log line, or the VM ending (which it must
        # not): fail at once with its reason instead of a timeout.
        con.expect([HLT_LINE, r"vm 'halt' (stopped|crashed): [^\r\n]*"], 60)
        seen = con.machine.child.match.group(0)
        assert re.fullmatch(HLT_LINE, seen), seen
        con.type("version\r")
        con.expect(r"monitor protocol \d+[^\r\n]*\r\n")
        con.prompt()
        log = "\n".join(con.run("log"))
        lines = console_lines(log, "halt")
        assert lines == ["halting with interrupts off"], log
        head, counts = stats(con, "halt")
        assert head.startswith("vm 'halt': running"), head
        assert counts["hlt"] == 1, counts
        assert con.run("version")[0].startswith("Lamina ")
        rows = "\n".join(con.run("vms"))
        assert re.search(r"\bhalt\s+running\b", rows), rows
