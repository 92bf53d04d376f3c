"""`console VM`: the monitor's serial line attached to a VM's virtual
16550, on AMD SVM (QEMU TCG) and Intel VMX (Bochs): the kept output first,
typed bytes reach the guest, Ctrl-] comes back to the prompt, and output
beyond the 4 KiB buffer is dropped and counted."""

import os
import re

import pytest

from conftest import REPO, booted
from test_guests import stats

CFGS = os.path.join(REPO, "tests", "configs")
CTRL_RIGHT_BRACKET = "\x1d"
KEPT = 4096


def attach(con, state):
    con.type("console echo\r")
    con.expect(r"\[console of vm 'echo' \(%s\): Ctrl-\] returns to the "
               r"monitor\]\r\n" % state)


def detach(con, state):
    con.type(CTRL_RIGHT_BRACKET)
    con.expect(r"\[left the console of vm 'echo' \(%s\); output lost: "
               r"(\d+) bytes, input refused: (\d+) bytes\]\r\n" % state)
    m = con.machine.child.match
    con.prompt()
    return int(m.group(1)), int(m.group(2))


@pytest.mark.timeout(300)
@pytest.mark.parametrize("pcpu", [1, 0])
@pytest.mark.parametrize("setup", ["qemu-bios", "bochs-vmx"])
def test_console_attach_type_detach(setup, pcpu):
    """On pCPU 1 the guest has its own CPU; on pCPU 0 it shares the boot
    CPU with the monitor, which must stay as responsive while the guest
    polls its UART without pause."""
    cfg = os.path.join(CFGS, "guest-echo32%s.yaml" % ("-bsp" if pcpu == 0 else ""))
    with booted(setup, logname=f"console-{setup}-pcpu{pcpu}",
                config=cfg) as con:
        con.require(full=True)
        con.type("start echo\r")
        con.expect(r"vm 'echo' started on pCPU %d\r\n" % pcpu)
        con.prompt()
        attach(con, "running")
        con.expect(r"echo ready: type, 'f' floods, 'q' quits\r?\n")
        con.type("hello, lamina")
        con.expect("HELLO, LAMINA")
        assert detach(con, "running") == (0, 0)

        # 6000 bytes more than fill the 4 KiB the VM keeps.
        attach(con, "running")
        con.type("f")
        for _ in range(100):
            con.expect(r"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW\r?\n")
        detach(con, "running")
        head, counts = stats(con, "echo")
        line = [l for l in con.run("stats echo") if "console" in l][0]
        m = re.search(r"console\s+(\d+) bytes \((\d+) dropped\)", line)
        total, dropped = int(m.group(1)), int(m.group(2))
        assert total > 6000 and dropped == total - KEPT, line

        # Attaching again replays exactly what is kept, then 'q' stops it.
        attach(con, "running")
        con.type("q")
        con.expect(r"echo: bye\r?\n")
        lost, refused = detach(con, "stopped")
        assert (lost, refused) == (0, 0)
        head, _ = stats(con, "echo")
        assert head.startswith("vm 'echo': stopped: debug-exit"), head
        log = "\n".join(con.run("log"))
        assert "vm 'echo' console: HELLO, LAMINA" in log
