"""The demo that `make run` boots (configs/demo.yaml): Linux on two vCPUs
beside two small VMs, all started at boot, each writing to its own
console; 'beta' shares the boot CPU with the monitor and answers on
`console beta`, and Linux reaches its shell's marker line meanwhile.
Bochs (4 CPUs, Linux decompressing itself for minutes beside the others)
runs in `make test-slow`."""

import os
import re

import pytest

from conftest import REPO, booted

DEMO = os.path.join(REPO, "configs", "demo.yaml")


def wait_for(con, text, tries=60):
    """Bounded wait for `text` anywhere in the output so far."""
    m = con.machine
    for _ in range(tries):
        if text in m.transcript.text():
            return
        m._drain(0.5)
    assert text in m.transcript.text(), f"no {text!r} after {tries / 2} s"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("setup", [
    "qemu-linux", pytest.param("bochs-vmx-4", marks=pytest.mark.slow)])
def test_demo_vms_write_their_consoles(setup):
    with booted(setup, logname=f"demo-{setup}", config=DEMO) as con:
        con.require(full=True)
        text = con.machine.transcript.text()
        assert "config: vm 'alpha' started (autostart)" in text, text
        assert "config: vm 'beta' started (autostart)" in text, text
        wait_for(con, "vm 'alpha' console: SUMMARY: done")
        wait_for(con, "vm 'beta' console: echo ready")
        wait_for(con, "vm: vm 'alpha' stopped: debug-exit")
        con.type("version\r")
        con.expect(r"monitor protocol \d+[^\r\n]*\r\n")
        con.prompt()

        rows = "\n".join(con.run("vms"))
        assert re.search(r"\balpha\s+stopped\s+1\b", rows), rows
        assert re.search(r"\bbeta\s+running\s+0\b", rows), rows

        con.type("console beta\r")
        con.expect(r"\[console of vm 'beta' \(running\): Ctrl-\] returns")
        con.type("lamina demo")
        con.expect("LAMINA DEMO")
        con.type("\x1d")
        con.expect(r"\[left the console of vm 'beta' \(running\)")
        con.prompt()
        # Linux's console lines may land among the reply's lines.
        assert any(ln.startswith("Lamina ") for ln in con.run("version"))
        if setup.startswith("qemu"):
            wait_for(con, "LAMINA-LINUX-READY", tries=480)
            rows = "\n".join(con.run("vms"))
            assert re.search(r"\btux\s+running\s+2,3\b", rows), rows
