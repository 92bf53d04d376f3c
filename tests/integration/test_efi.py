"""lamina.efi (loader/efi/, docs/efi-loader.md) under OVMF on q35, no CSM.

Each test boots an image of tools/mkusb.sh as a USB stick (setup
qemu-uefi-usb): through GRUB, the firmware's default \\EFI\\BOOT\\BOOTX64.EFI;
through lamina.efi, with the variant whose BOOTX64.EFI is lamina.efi (no
boot menu to drive); and with broken files, where the loader must print its
error on the serial line and return to the firmware instead of hanging.
How long each way takes is measured by bench/efi_boot.py.

Needs build/lamina.efi (`make build/lamina.efi`) beside Lamina's build.
"""

import os
import re
import struct
import subprocess
import time

import pytest

from conftest import CFG_TOOL, ELF, LOGROOT, REPO, setup_or_skip
import emu

SETUP = "qemu-uefi-usb"
EFI = os.path.join(REPO, "build", "lamina.efi")
MKUSB = os.path.join(REPO, "tools", "mkusb.sh")
IMG_DIR = os.path.join(REPO, "build", "test-iso")
# One VM that starts by itself and prints PASS lines (test_guests.py).
CONFIG = os.path.join(REPO, "tests", "configs", "guest-autostart.yaml")
HELLO = os.path.join(REPO, "build", "guests", "hello32.bin")

BOOT = pytest.mark.timeout(240)
PROMPT = "lamina> "
READY_RE = r"boot: ready in (\d+) us"
HANDOFF_RE = r"BdsDxe: starting Boot"  # OVMF starts the stick's loader
WAIT_S = 10  # lamina.efi's wait for a key before it returns


def image(name, default="grub", boottxt=None, elf=ELF, cmdline=""):
    """An image of tools/mkusb.sh, rebuilt when one of its inputs changed."""
    for need in (EFI, ELF, CFG_TOOL, HELLO):
        if not os.path.isfile(need):
            pytest.fail(f"{need} missing: run `make all build/lamina.efi`",
                        pytrace=False)
    path = os.path.join(IMG_DIR, f"lamina-usb-{name}.img")
    inputs = [EFI, elf, CFG_TOOL, CONFIG, HELLO, MKUSB] + \
        ([boottxt] if boottxt else [])
    if os.path.exists(path) and os.path.getmtime(path) >= max(
            os.path.getmtime(p) for p in inputs):
        return path
    os.makedirs(IMG_DIR, exist_ok=True)
    env = dict(os.environ, MKUSB_DEFAULT=default)
    if boottxt:
        env["MKUSB_BOOTTXT"] = boottxt
    tmp = f"{path}.{os.getpid()}"
    r = subprocess.run([MKUSB, tmp, elf, cmdline, CONFIG], env=env,
                       capture_output=True, text=True)
    if r.returncode:
        pytest.fail(f"mkusb.sh failed:\n{r.stderr}", pytrace=False)
    os.replace(tmp, path)
    return path


def boot(img, logname):
    setup = setup_or_skip(SETUP, img)
    return emu.start(setup, img, os.path.join(LOGROOT, logname))


def serial_text(m):
    return m.transcript.text().replace("\r\n", "\n")


@BOOT
def test_grub_default_boot():
    """The firmware's default boot is GRUB, which starts Lamina."""
    m = boot(image("grub"), "efi-grub")
    try:
        m.expect(PROMPT, timeout=m.setup.boot_timeout)
        text = serial_text(m)
        assert re.search(r"boot: loader 'GRUB [^']*', UEFI, .* 2 modules",
                         text), text[-3000:]
        assert "lamina.efi" not in text
    finally:
        m.stop()


@BOOT
def test_lamina_efi_boot():
    """lamina.efi loads Lamina, its config and the guest; the VM runs."""
    # loglevel=2 is the default: only the command line's arrival shows.
    m = boot(image("lamina-cmdline", default="lamina", cmdline="loglevel=2"),
             "efi-lamina")
    try:
        m.expect(PROMPT, timeout=m.setup.boot_timeout)
        # The VM runs on its own CPU: its lines may come before the prompt.
        if "vm 'auto' console: SUMMARY: done" not in serial_text(m):
            m.expect(r"vm 'auto' console: SUMMARY: done", timeout=60)
        text = serial_text(m)
        assert "vm 'auto' console: PASS" in text, text[-4000:]
        for want in (
                r"lamina\.efi: module config: \\lamina\\config\.bin, \d+ bytes",
                r"lamina\.efi: module hello32\.bin: \\lamina\\hello32\.bin",
                r"lamina\.efi: entering Lamina at 0x101000",
                r"boot: loader 'lamina\.efi 0\.1', UEFI, command line "
                r"'loglevel=2', "
                r"\d+ memory ranges, 2 modules",
                r"acpi: RSDP rev 2 from multiboot2 ACPI 2\.0 tag",
                r"vm: vm 'auto': loaded 'hello32\.bin' \(1476 bytes\)",
                r"config: 1 VMs created from the config",
                r"config: vm 'auto' started \(autostart\)"):
            assert re.search(want, text), f"no {want!r} in:\n{text[-4000:]}"
        # Lamina takes the multiboot2 map, not the EFI one it also gets.
        assert "(EFI map)" not in text
    finally:
        m.stop()


def broken(name, default, what, want, **kw):
    """Boot an image with a broken file; lamina.efi must say `want`, wait
    for a key (none comes) and return to the firmware, which goes on."""
    m = boot(image(name, default=default, **kw), f"efi-{name}")
    try:
        m.expect(re.escape(want), timeout=m.setup.boot_timeout)
        t0 = time.monotonic()
        m.expect(r"lamina\.efi: returning to the firmware", timeout=WAIT_S + 30)
        waited = time.monotonic() - t0
        assert waited >= WAIT_S - 2, f"returned after {waited:.1f} s"
        # Back in OVMF: it tries its next boot option (or its menu).
        m.expect(r"BdsDxe: failed to start|Shell>|Boot Manager", timeout=60)
        assert m.proc.poll() is None, "QEMU ended"
        assert "Lamina 0.1.0" not in serial_text(m), what
    finally:
        m.stop()


@BOOT
def test_broken_boot_txt():
    path = os.path.join(IMG_DIR, "efi-broken-boot.txt")
    os.makedirs(IMG_DIR, exist_ok=True)
    with open(path, "w") as f:
        f.write("# a typo on line 3\nkernel \\lamina\\lamina.elf\n"
                "modul \\lamina\\config.bin config\n")
    broken("badtxt", "lamina", "broken boot.txt",
           "lamina.efi: error: \\lamina\\boot.txt line 3: unknown directive "
           "'modul' (kernel, cmdline, module or #)", boottxt=path)


@BOOT
def test_kernel_not_elf():
    broken("notelf", "lamina", "a kernel that is no ELF",
           "lamina.efi: error: \\lamina\\lamina.elf: not an ELF file",
           elf=HELLO)


def elf_at(path, paddr):
    """A multiboot2 ELF of one 8 KiB PT_LOAD at `paddr`, entry at its start
    (only lamina.efi's checks and its page allocation ever see it)."""
    size = 0x2000
    f = bytearray(size)
    f[0:16] = b"\x7fELF\x02\x01\x01" + bytes(9)
    struct.pack_into("<HHIQQQIHHHHHH", f, 16, 2, 62, 1, paddr, 64, 0, 0,
                     64, 56, 1, 64, 0, 0)
    struct.pack_into("<IIQQQQQQ", f, 64, 1, 5, 0, paddr, paddr, size, size,
                     0x1000)
    hlen = 24
    struct.pack_into("<IIIIHHI", f, 0x1000, 0xE85250D6, 0, hlen,
                     -(0xE85250D6 + hlen) & 0xFFFFFFFF, 0, 0, 8)
    with open(path, "wb") as out:
        out.write(f)
    return path


@BOOT
def test_kernel_range_taken():
    """An ELF to be loaded where OVMF has no RAM for it (the legacy VGA
    window) is refused with the range named."""
    os.makedirs(IMG_DIR, exist_ok=True)
    elf = elf_at(os.path.join(IMG_DIR, "efi-vga-window.elf"), 0xA0000)
    broken("vgawin", "lamina", "an ELF at 0xa0000",
           "lamina.efi: error: \\lamina\\lamina.elf must be loaded at "
           "0xa0000-0xa1fff, but the firmware holds that memory or it is not "
           "RAM", elf=elf)
