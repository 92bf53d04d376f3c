"""An unmodified Debian Linux kernel as a guest (tests/configs/linux.yaml):
its busybox initramfs (tools/linux-guest/) prints a marker line, then a
shell answers on the VM's console. Beside it a small test VM ('side',
tests/guests/echo32.asm) echoes its input in capitals the whole time: what
Linux does must change nothing for it.

QEMU (SVM under TCG) runs in every `make test`: the bzImage through the
64-bit boot protocol, two vCPUs started by the guest's own INIT-SIPI-SIPI
(test_demo.py boots the demo's vmlinux through PVH). Bochs (VMX) boots
the vmlinux on one vCPU in `make test-slow` (minutes of emulated boot).
"""

import os
import re
import time

import pytest

from conftest import REPO, booted

LINUX_DIR = os.path.join(REPO, "build", "linux")
CONFIGS = os.path.join(REPO, "tests", "configs")
MARKER_RE = r"LAMINA-LINUX-READY (\S+) cpus=(\d+)"
SHELL_PROMPT = "lamina-guest# "


def kernel_version():
    """The version tools/linux-guest/fetch-kernel.sh unpacked, or skip."""
    path = os.path.join(LINUX_DIR, "version")
    for f in ("bzImage", "vmlinux", "initramfs.cpio.gz", "version"):
        if not os.path.isfile(os.path.join(LINUX_DIR, f)):
            pytest.skip(f"SKIP: build/linux/{f} missing: `make linux-guest` "
                        "fetches Debian's kernel (needs the Debian mirror)")
    with open(path) as f:
        return f.read().strip()


def wait_marker(con, timeout):
    """The initramfs's marker line: (kernel release, CPUs it counted)."""
    con.expect(MARKER_RE, timeout)
    return con.machine.child.match.group(1), int(con.machine.child.match.group(2))


def enter_console(con, vm):
    con.type(f"console {vm}\r")
    con.expect(rf"\[console of vm '{vm}' \(running\): Ctrl-\] returns")


def leave_console(con, vm, state="running"):
    con.type("\x1d")
    con.expect(rf"\[left the console of vm '{vm}' \({state}\)")
    con.prompt()


def line_re(text):
    """`text` as a whole line of the guest's output (after a long command
    line wrapped, the guest's tty ends lines with \\r\\r\\n)."""
    return r"\n" + re.escape(text) + r"\r*\n"


def shell(con, line, expect, timeout=60):
    """A command at the guest's shell; the text before `expect`."""
    con.type(line + "\r")
    return con.expect(expect, timeout)


def side_echoes(con, word):
    """The test VM beside Linux still runs: it echoes `word` in capitals
    (no 'f' or 'q' in it: those make it flood or quit)."""
    assert "f" not in word and "q" not in word
    enter_console(con, "side")
    con.type(word)
    con.expect(word.upper())
    leave_console(con, "side")


def stats(con, vm):
    return "\n".join(con.run(f"stats {vm}"))


def check_linux_vm(con, vcpus, marker_timeout):
    """Boot the 'tux' VM to its shell and drive it, with 'side' beside it."""
    release = kernel_version()
    con.require(full=True)
    side = con.run("start side")
    assert "vm 'side' started" in "\n".join(side), side
    # Checked while Linux is quiet: its boot lines, logged to this
    # screen, would land inside the echo.
    side_echoes(con, "hello tux")
    out = "\n".join(con.run("start tux"))
    assert re.search(r"vm 'tux' started on pCPU", out), out
    got_release, cpus = wait_marker(con, marker_timeout)
    assert got_release == release
    assert cpus == vcpus
    # The monitor answers while Linux runs; so does the other VM.
    con.type("\r")
    con.prompt()
    rows = "\n".join(con.run("vms"))
    assert re.search(r"\bside\s+running\b", rows), rows

    enter_console(con, "tux")
    con.type("\r")
    con.expect(SHELL_PROMPT, 60)
    shell(con, "uname -r", line_re(release))
    shell(con, "grep -c processor /proc/cpuinfo", line_re(str(vcpus)))
    # What Lamina appends: no PCI to probe, and its TSC rate.
    shell(con, "cat /proc/cmdline", r"\bpci=off tsc_early_khz=\d+\r*\n")

    # INIT through the guest's own local APIC at APIC IDs that are no
    # vCPU of its VM: pCPU 3's (where 'side' runs) and 7. Nothing outside
    # the VM may notice; the guest itself goes on. With a second CPU
    # online, the kernel's own IPIs could rewrite the destination register
    # between the program's two stores and aim its INIT at that CPU (the
    # guest hurting itself): it goes offline first, and coming back online
    # takes a second INIT-SIPI-SIPI.
    cpu1 = "/sys/devices/system/cpu/cpu1/online"
    if vcpus > 1:
        shell(con, f"echo 0 > {cpu1}; cat {cpu1}", line_re("0"))
    for dest in (3, 7):
        shell(con, f"lamina-ipi-test {dest}",
              rf"LAMINA-IPI-TEST sent INIT to apic {dest}")
    if vcpus > 1:
        shell(con, f"echo 1 > {cpu1}; grep -c processor /proc/cpuinfo",
              line_re(str(vcpus)))
    shell(con, "echo still-$((6*7))", line_re("still-42"))
    con.expect(SHELL_PROMPT)
    leave_console(con, "tux")
    st = stats(con, "tux")
    m = re.search(r"ipis\s+\d+ delivered, (\d+) named no vCPU", st)
    assert m and int(m.group(1)) >= 2, st
    side_echoes(con, "init sent")

    # poweroff inside the guest stops its VM (ACPI S5); Lamina stays.
    enter_console(con, "tux")
    con.type("poweroff\r")
    con.expect(r"the guest powered off \(ACPI S5\)", 120)
    leave_console(con, "tux", "stopped")
    rows = "\n".join(con.run("vms"))
    assert re.search(r"\btux\s+stopped\b", rows), rows
    assert re.search(r"\bside\s+running\b", rows), rows
    side_echoes(con, "tux is down")
    assert con.run("version")[0].startswith("Lamina ")


@pytest.mark.timeout(600)
def test_linux_guest_svm_qemu():
    kernel_version()
    with booted("qemu-linux", logname="linux-qemu",
                config=os.path.join(CONFIGS, "linux.yaml")) as con:
        check_linux_vm(con, vcpus=2, marker_timeout=240)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_linux_guest_vmx_bochs():
    kernel_version()
    with booted("bochs-vmx-linux", logname="linux-bochs",
                config=os.path.join(CONFIGS, "linux-vmx.yaml")) as con:
        check_linux_vm(con, vcpus=1, marker_timeout=1500)
