"""Failures on purpose (docs/testing.md): exceptions print everything and
panic, every CPU stops with virtualisation off, Lamina's page permissions
hold, a CPU that never answers is named and left out."""

import re

import pytest

import emu

from conftest import booted

BOOT = pytest.mark.timeout(240)

FAULTS = {  # test.fault=KIND: (vector, name, error code or None)
    "write-text": (14, "#PF page fault", 0x3),   # present, write
    "exec-data": (14, "#PF page fault", 0x11),   # present, fetch
    "ud": (6, "#UD invalid opcode", 0x0),
    "gp": (13, "#GP general protection", 0x0),
}


def panic_report(con, timeout=60):
    """Everything from PANIC to 'system halted'. The boot stopped at the
    PANIC (the console fails fast there), so read on from the transcript."""
    assert con.broken is not None, "booted to the prompt: no fault raised"
    try:
        text = con.machine.text_until_halted(timeout)
    except emu.Timeout as e:
        pytest.fail(str(e))
    return text[text.index("PANIC"):]


@BOOT
@pytest.mark.parametrize("setup,kind", [("qemu-bios", k) for k in FAULTS] +
                         [("bochs-vmx", "exec-data")])
def test_exception_report(setup, kind):
    vec, name, code = FAULTS[kind]
    with booted(setup, f"test.fault={kind}", f"fault-{setup}-{kind}") as con:
        report = panic_report(con)
        assert f"PANIC: cpu 0: exception {vec} ({name}), error code " \
            f"0x{code:x}\n" in report, report
        for reg in ("RIP", "RSP", "RFLAGS", "RAX", "R15", "CR0", "CR2",
                    "CR3", "CR4"):
            assert re.search(rf"\b{reg}\s+[0-9a-f]{{4,16}}\b", report), \
                f"{reg} missing:\n{report}"
        n = con.setup.cpus
        assert f"PANIC: {n - 1} of {n - 1} other CPUs stopped; " \
            f"virtualisation off on {n} of {n} CPUs" in report, report
        frames = re.findall(r"#\d+ ([0-9a-f]{16})", report)
        assert frames, f"no backtrace:\n{report}"
        assert all(0x100000 <= int(f, 16) < 0x200000 for f in frames), frames
        rip = int(re.search(r"RIP ([0-9a-f]{16})", report).group(1), 16)
        cr2 = int(re.search(r"CR2 ([0-9a-f]{16})", report).group(1), 16)
        if kind == "exec-data":
            assert cr2 == rip, "an instruction fetch faults at RIP"


@BOOT
def test_cpu_that_never_answers_is_left_out():
    with booted("qemu-bios", "test.ghost_cpu=9", "fault-ghost-cpu") as con:
        con.require(full=True)
        text = con.boot_text
        assert "smp: cpu 4 (APIC 9): no answer to INIT-SIPI-SIPI (timeout " \
            "1000 ms); left out" in text, text
        assert "smp: 4 of 5 CPUs online" in text
        rows = [ln for ln in con.run("cpus") if re.match(r"\s*4\s+9\s", ln)]
        assert rows and "offline" in rows[0] and "no answer" in rows[0], rows
        assert "AMD SVM enabled on 4 CPUs" in text
