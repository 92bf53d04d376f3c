"""The demo that `make run` boots (configs/demo.yaml): two VMs on different
CPUs, both started at boot, both writing to their own consoles; 'beta'
shares the boot CPU with the monitor and answers on `console beta`."""

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


@pytest.mark.timeout(300)
@pytest.mark.parametrize("setup", ["qemu-bios", "bochs-vmx"])
def test_demo_two_vms_write_their_consoles(setup):
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
        assert con.run("version")[0].startswith("Lamina ")
