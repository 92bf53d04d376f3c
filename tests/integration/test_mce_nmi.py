"""Machine checks and NMIs (docs/machine-checks.md), injected through QEMU's
monitor under TCG (qemu-bios): an NMI nobody in Lamina sent is reported and
Lamina goes on; a recoverable #MC on an idle CPU is reported, its banks and
MCG_STATUS.MCIP cleared (a second one is survived too), and Lamina goes on;
an unrecoverable one (PCC) panics with the bank report on the serial line,
the machine halted rather than reset. A #MC on a CPU while a guest runs
there is tried too: QEMU 7.2 TCG does not honour the SVM #MC intercept, so
that case says SKIP when QEMU hands the #MC to the guest. Bochs cannot
inject either event: VMX is covered by tests/unit/test_mce.c and the
existing VMX tests."""

import os
import re
import time

import pytest

import emu
from conftest import REPO, booted

BOOT = pytest.mark.timeout(240)
CFG = os.path.join(REPO, "tests", "configs", "guest-mce.yaml")

# IA32_MCi_STATUS and IA32_MCG_STATUS bits (include/lamina/mce.h)
VAL, OVER, UC, EN = 1 << 63, 1 << 62, 1 << 61, 1 << 60
MISCV, ADDRV, PCC = 1 << 59, 1 << 58, 1 << 57
RIPV, EIPV, MCIP = 1, 2, 4
ERROR_CODE = 0x135  # a memory read error, as an example
RECOVERABLE = VAL | UC | EN | ADDRV | ERROR_CODE
FATAL = VAL | UC | EN | PCC | ERROR_CODE
ADDR = 0x1234000


def inject_mce(con, cpu, bank, status, mcg_status, addr=ADDR, misc=0):
    """QEMU's `mce` command; it prints nothing when it injected (a line
    such as "MCE capability is not enabled" when it refused, and then
    resets the machine)."""
    out = con.machine.hmp(f"mce {cpu} {bank} 0x{status:x} 0x{mcg_status:x} "
                          f"0x{addr:x} 0x{misc:x}")
    assert not out.strip(), f"QEMU did not inject the #MC: {out.strip()}"


def still_answers(con):
    # A log line printed after the last prompt may come before the echo.
    lines = con.run("version")
    assert any(ln.startswith("Lamina ") for ln in lines), lines


def bank_line(cpu, bank, status, words):
    addr = f"0x{ADDR:x}" if status & ADDRV else "(not valid) 0x0"
    return (f"mce: cpu {cpu} bank {bank}: status 0x{status:016x} ({words}), "
            f"error code 0x{status & 0xffff:04x}, address {addr}, "
            f"misc (not valid) 0x0")


def next_line(con, pattern, timeout=15):
    """Wait for a log line matching `pattern`; return the whole line."""
    con.expect(rf"[^\n]*{pattern}[^\r\n]*\r\n", timeout)
    return con.machine.child.match.group(0).strip()


class TestSurvived:
    SETUP = "qemu-bios"
    CPUS = emu.SETUPS["qemu-bios"].cpus

    def test_banks_enabled_at_boot(self, console):
        console.require(full=True)
        m = re.search(r"mce: machine checks on: (\d+) banks \(MCG_CAP "
                      r"0x([0-9a-f]+)\)", console.lamina_text())
        assert m, console.lamina_text()
        assert int(m.group(1)) == int(m.group(2), 16) & 0xff > 1
        assert "left from before the reset" not in console.lamina_text()

    def test_unexpected_nmi_reported(self, console):
        # QEMU's NMI comes in through every CPU's LINT1, which the firmware
        # sets up on the boot CPU and Lamina on the others from the MADT's
        # local-APIC NMI entry; the boot CPU reads port 0x61.
        console.machine.qmp("inject-nmi")
        seen = {}
        while len(seen) < self.CPUS:
            line = next_line(console, r"unexpected NMI")
            m = re.search(r"mce: cpu (\d+): unexpected NMI: unknown source, "
                          r"no kick posted \(port 0x61 ([^)]*)\); going on$",
                          line)
            assert m, line
            seen[int(m.group(1))] = m.group(2)
        assert sorted(seen) == list(range(self.CPUS)), seen
        assert re.fullmatch(r"0x[0-9a-f]{2}", seen[0]), seen
        still_answers(console)

    def test_recoverable_mce_on_idle_cpu(self, console):
        inject_mce(console, 2, 1, RECOVERABLE, RIPV | MCIP)
        head = next_line(console, r"mce: cpu 2: machine check")
        assert re.search(r"mce: cpu 2: machine check in Lamina at rip "
                         r"0x[0-9a-f]+, MCG_STATUS 0x5 \(RIPV MCIP\): "
                         r"recovered, uncorrected, context not corrupt, "
                         r"RIPV set$", head), head
        bank = next_line(console, r"mce: cpu 2 bank")
        assert bank.endswith(bank_line(2, 1, RECOVERABLE, "VAL UC EN ADDRV")), \
            bank
        still_answers(console)

    def test_second_mce_after_the_first_was_cleared(self, console):
        # Had MCIP stayed set, QEMU would reset the machine here.
        inject_mce(console, 2, 3, RECOVERABLE, RIPV | MCIP)
        head = next_line(console, r"mce: cpu 2: machine check")
        assert "recovered" in head, head
        bank = next_line(console, r"mce: cpu 2 bank")
        assert "bank 3:" in bank and "bank 1:" not in bank, bank
        still_answers(console)

    def test_nmi_storm_is_rate_limited(self, console):
        # At most 5 reports a second; the rest are counted and said later.
        start = len(console.machine.transcript.text())
        for _ in range(30):
            console.machine.qmp("inject-nmi")
            time.sleep(0.01)  # NMIs pending together merge into one
        time.sleep(1.5)
        console.machine.qmp("inject-nmi")
        next_line(console, r"unexpected NMIs were not reported")
        still_answers(console)
        text = console.machine.transcript.text()[start:]
        reports = re.findall(r"cpu \d: unexpected NMI:", text)
        m = re.search(r"(\d+) unexpected NMIs were not reported", text)
        # NMIs injected while one is being handled merge into one; each
        # reaches every CPU.
        assert 1 <= len(reports) <= 10, text
        assert int(m.group(1)) + len(reports) <= 31 * self.CPUS, text


def wait_halted(con, timeout=60):
    """The serial output up to 'system halted'."""
    try:
        return con.machine.text_until_halted(timeout)
    except emu.Timeout as e:
        pytest.fail(str(e))


@BOOT
def test_unrecoverable_mce_panics_with_the_report():
    with booted("qemu-bios", "", "mce-fatal") as con:
        con.require(full=True)
        inject_mce(con, 2, 1, FATAL, RIPV | MCIP)
        with pytest.raises(emu.Panic):
            con.expect(r"lamina-never-printed", 30)
        text = wait_halted(con)
        assert bank_line(2, 1, FATAL, "VAL UC EN PCC") in text, text
        assert re.search(r"mce: cpu 2: machine check in Lamina at rip "
                         r"0x[0-9a-f]+, MCG_STATUS 0x5 \(RIPV MCIP\): fatal, "
                         r"processor context corrupt \(PCC\)\n", text), text
        assert "PANIC: cpu 2: fatal machine check on cpu 2: processor " \
            "context corrupt (PCC); bank 1 (VAL UC EN PCC)\n" in text, text
        assert "PANIC: 3 of 3 other CPUs stopped" in text, text
        # Halted, not reset: QEMU runs on (-no-reboot would have ended it)
        # and Lamina did not start again.
        time.sleep(1)
        assert con.machine.proc.poll() is None, "QEMU exited: a reset"
        assert len(re.findall(r"Lamina \d+\.\d+\.\d+ \(git ",
                              con.machine.transcript.text())) == 1


@BOOT
def test_nmi_while_a_guest_runs_on_the_boot_cpu():
    with booted("qemu-bios", "", "mce-guest-nmi", config=CFG) as con:
        con.require(full=True)
        con.run("start spin0")
        next_line(con, r"vm 'spin0' console: echo ready")
        con.machine.qmp("inject-nmi")
        next_line(con, r"mce: cpu 0: unexpected NMI: unknown source")
        still_answers(con)
        rows = [ln for ln in con.run("vms") if " spin0 " in ln]
        assert rows and "running" in rows[0], rows


@BOOT
def test_mce_while_a_guest_runs():
    with booted("qemu-bios", "", "mce-guest-mc", config=CFG) as con:
        con.require(full=True)
        con.run("start spin1")
        # The workload guest's compute loop: seconds of guest mode, no exits.
        next_line(con, r"vm 'spin1' console: WORK start", 30)
        time.sleep(0.5)
        inject_mce(con, 1, 1, RECOVERABLE, RIPV | MCIP)
        i = con.machine.expect([r"mce: cpu 1: machine check in a guest",
                                r"vm 'spin1' crashed: triple fault"], 15)
        if i == 1:
            pytest.skip("SKIP: QEMU 7.2 TCG delivered the #MC through the "
                        "guest's IDT (its CPU_INTERRUPT_MCE path checks no "
                        "SVM intercept), so the guest triple-faulted; Lamina "
                        "survived, but its #MC exit path was not reached")
        bank = next_line(con, r"mce: cpu 1 bank")
        assert bank.endswith(bank_line(1, 1, RECOVERABLE, "VAL UC EN ADDRV"))
        still_answers(con)
        rows = [ln for ln in con.run("vms") if " spin1 " in ln]
        assert rows and "running" in rows[0], rows
