"""console=: Lamina's monitor on a UART other than COM1. QEMU gets a PCI
16550 card (tools/emu.py start_pci_serial) that is the test's serial line,
and COM1 goes to a file: the prompt and a `version` reply must arrive on the
card, and COM1 must say where the console went. A bad console= keeps COM1.
"""

import os
import re
import struct
import time

import pytest

from conftest import ELF, LOGROOT, Console, emu, iso_for, setup_or_skip

SETUP = "qemu-bios"
# SeaBIOS gives the card at slot emu.PCI_SERIAL_ADDR this I/O BAR (`info
# pci` on the QEMU monitor: "BAR0: I/O at 0xc010"), the same every boot.
CARD_PORT = 0xc010


def spcr_body(port):
    """An SPCR revision 2 after its header (QEMU's -acpitable adds that): a
    16550 at I/O `port`, 115200 baud (code 7)."""
    gas = struct.pack("<BBBBQ", 1, 8, 0, 1, port)  # system I/O, 8-bit
    body = struct.pack("<B3x", 0) + gas + bytes(6) + bytes([7]) + bytes(21)
    assert len(body) == 80 - 36
    return body


def boot_with_card(cmdline, logname, spcr_port=None):
    setup = setup_or_skip(SETUP, ELF)
    logdir = os.path.join(LOGROOT, logname)
    extra = []
    if spcr_port is not None:
        # Outside logdir: start_pci_serial empties that first.
        path = logdir + "-spcr.bin"
        os.makedirs(LOGROOT, exist_ok=True)
        with open(path, "wb") as f:
            f.write(spcr_body(spcr_port))
        extra = ["-acpitable", f"sig=SPCR,rev=2,data={path}"]
    machine = emu.start_pci_serial(setup, iso_for(cmdline, None), logdir,
                                   extra_args=extra)
    return machine, Console(machine, setup)


def com1_text(machine, pattern, timeout=60):
    """COM1's file once it matches `pattern` (QEMU writes it as it goes)."""
    path = os.path.join(machine.logdir, "com1.log")
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                text = f.read()
            if re.search(pattern, text):
                return text
        time.sleep(0.2)
    pytest.fail(f"COM1 never said {pattern!r}; it has:\n{text[-2000:]}")


@pytest.mark.timeout(240)
def test_console_on_pci_card():
    machine, con = boot_with_card(f"console=uart,io,{CARD_PORT:#x}",
                                  "console-select-pci")
    try:
        con.boot()
        con.require(full=True)
        assert "console on I/O 0xc010" in con.boot_text
        out = con.run("version")
        assert any(re.search(r"\d+\.\d+\.\d+", line) for line in out), out
        com1 = com1_text(machine, r"console: switching to I/O 0xc010, "
                                  r"115200 baud \(from command line\)")
        # After the switch nothing more goes to COM1: no prompt there.
        assert "lamina> " not in com1
    finally:
        machine.stop()


# A console= COM1 must survive, and what COM1 then says.
REFUSED = [
    ("uart,io,0x10000", r"console: bad console=uart,io,0x10000: I/O port "
                        r"is not a number from 1 to 0xfff8; staying on COM1"),
    # QEMU has no COM2 here: the scratch register reads back all ones.
    ("com2", r"console: I/O 0x2f8, 115200 baud \(from command line\): no "
             r"16550 answers there; staying on COM1"),
    # Nothing decodes this address (below 4 GiB, so mapped).
    ("uart,mmio,0xfe032000,,32", r"console: MMIO 0xfe032000 \(32-bit "
     r"registers, stride 4\), 115200 baud \(from command line\): no 16550 "
     r"answers there; staying on COM1"),
    # The boot page tables end at 4 GiB.
    ("uart,mmio,0x100000000", r"console: MMIO 0x100000000 \(8-bit "
     r"registers, stride 1\), 115200 baud \(from command line\) is not "
     r"mapped; staying on COM1"),
]


@pytest.mark.timeout(240)
@pytest.mark.parametrize("arg,said", REFUSED, ids=[a for a, _ in REFUSED])
def test_refused_console_keeps_com1(arg, said):
    machine, con = boot_with_card(f"console={arg}",
                                  "console-select-refused-" +
                                  re.sub(r"[^a-z0-9]+", "_", arg))
    try:
        com1 = com1_text(machine, r"(?m)^lamina> ", timeout=90)
        assert re.search(said, com1), com1[-2000:]
        assert "lamina> " not in machine.transcript.text()
    finally:
        machine.stop()


@pytest.mark.timeout(240)
def test_console_from_spcr():
    """No console=: the firmware's SPCR names the card, and Lamina moves
    there once the ACPI tables are read."""
    machine, con = boot_with_card("", "console-select-spcr",
                                  spcr_port=CARD_PORT)
    try:
        con.boot()
        con.require(full=True)
        out = con.run("version")
        assert any(re.search(r"\d+\.\d+\.\d+", line) for line in out), out
        com1_text(machine, r"console: switching to I/O 0xc010, 115200 baud "
                           r"\(from SPCR\)")
    finally:
        machine.stop()


@pytest.mark.timeout(240)
def test_console_arg_beats_spcr():
    machine, con = boot_with_card("console=com1", "console-select-override",
                                  spcr_port=CARD_PORT)
    try:
        com1 = com1_text(machine, r"(?m)^lamina> ", timeout=90)
        assert "switching" not in com1
        assert "SPCR: 16550 at I/O 0xc010" in com1
        assert "lamina> " not in machine.transcript.text()
    finally:
        machine.stop()
