"""`poweroff` switches the machine off through ACPI S5: the sleep type
from the firmware's DSDT \\_S5 package written with SLP_EN to its FADT's
PM1 control register (SeaBIOS on QEMU's i440FX and q35, OVMF, Bochs' own
BIOS). The emulator ends by itself, with a VM running at the time; the
log says which register took the write. (`reboot` is in test_boot.py.)"""

import os

import pytest

from conftest import REPO, booted

CFG = os.path.join(REPO, "tests", "configs", "guest-echo32.yaml")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("setup", ["qemu-bios", "qemu-usb", "qemu-uefi",
                                   "bochs-vmx"])
def test_poweroff(setup):
    with booted(setup, logname=f"poweroff-{setup}", config=CFG) as con:
        con.require(full=True)
        assert any("started" in l for l in con.run("start echo"))
        con.type("poweroff\r")
        con.expect(r"reboot: ACPI S5: (PM1a 0x[0-9a-f]+|sleep control)", 30)
        status = con.machine.wait(60)
        assert status is not None, f"{setup} still running 60 s after poweroff"
        if con.setup.emulator == "qemu":
            assert status == 0, f"QEMU exit status {status} after poweroff"
