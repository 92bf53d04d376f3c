"""`irq VM VECTOR` (KVM_INTERRUPT) on AMD SVM (QEMU) and Intel VMX (Bochs):
an interrupt wakes a vCPU halted with interrupts on; one queued while the
guest has interrupts off waits (an interrupt-window exit) and arrives
right after its STI; a second `irq` while one is pending is refused."""

import os
import re

import pytest

from conftest import REPO, booted
from test_guests import stats

CFG = os.path.join(REPO, "tests", "configs", "guest-irq32.yaml")


def wait_for(con, text, tries=40):
    """Bounded wait for `text` anywhere in the output so far."""
    for _ in range(tries):
        if text in con.machine.transcript.text():
            return
        con.machine._drain(0.5)
    assert text in con.machine.transcript.text(), f"no {text!r}"


def sync(con):
    """A known point in the output: guest lines may land before or after
    a prompt, so wait for the reply to `version` and its prompt."""
    con.type("version\r")
    con.expect(r"monitor protocol \d+[^\r\n]*\r\n")
    con.prompt()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("setup", ["qemu-bios", "bochs-vmx"])
def test_irq_wakes_and_waits_for_the_window(setup):
    with booted(setup, logname=f"irq-{setup}", config=CFG) as con:
        con.require(full=True)
        con.type("start irq\r")
        con.expect(r"vm 'irq' console: irq: ready, halted with interrupts on")
        sync(con)
        assert any(l.startswith("error: usage: irq VM")
                   for l in con.run("irq irq 0x10")), "an exception vector was taken"
        for _ in range(2):
            assert "vm 'irq' vCPU 0: interrupt 0x40 queued" in \
                con.run("irq irq 0x40")
            wait_for(con, "PASS: two interrupts" if _ else "")
        wait_for(con, "vm 'irq' console: irq: interrupts off, waiting")
        sync(con)
        assert "vm 'irq' vCPU 0: interrupt 0x41 queued" in \
            con.run("irq irq 0x41")
        busy = [l for l in con.run("irq irq 0x42") if "error" in l][0]
        assert busy.startswith("error: cannot interrupt 'irq': busy"), busy
        assert "wrote 1 bytes at GPA 0x7000" in con.run("w irq 0x7000 01")
        con.expect(r"vm: vm 'irq' stopped: ([^\r\n]*)\r\n", 60)
        reason = con.machine.child.match.group(1)
        sync(con)
        log = "\n".join(con.run("log"))
        assert "console: FAIL" not in log, log
        assert len(re.findall(r"vm 'irq' console: PASS: ", log)) == 4, log
        assert reason == "debug-exit: the guest wrote 0x0 to port 0xf4", reason
        head, counts = stats(con, "irq")
        assert counts["hlt"] >= 2, counts
