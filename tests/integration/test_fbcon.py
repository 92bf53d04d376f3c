"""The screen (drivers/fbcon.c, docs/screen.md): the boot log drawn as text
on the framebuffer the loader set up.

Three tests boot with hv.fail=arch_init, so that a failure line
("hv: step 1/7 'arch_init' failed ...", a pr_err: red) is logged early, and
take a screendump once the serial line shows it: through BIOS GRUB (VBE),
UEFI GRUB (GOP) and lamina.efi (GOP, no GRUB). The dump (a P6 PPM, kept
as build/test-logs/fbcon-*/screen.ppm for a person to look at) must
not be blank, and must hold the failure text and the banner in the pixels
tools/mkfont.py renders them with (lit where the glyph is set, black
around), wherever on the screen they are; the failure text must be red.
A fourth boots with test.fault=ud: the panic's last line must be drawn,
in red, too.
"""

import os
import re

import pytest

from conftest import REPO, booted
import emu
import mkfont

CMDLINE = "hv.fail=arch_init"
FAIL_RE = r"hv: step 1/\d+ 'arch_init' failed"
FAIL_TEXT = "'arch_init' failed"
BANNER_TEXT = "x86-64 microhypervisor"
BOOT = pytest.mark.timeout(300)
EFI = os.path.join(REPO, "build", "lamina.efi")

FONT = mkfont.cells()


# ------------------------------------------------------------ the image

def read_ppm(path):
    """(width, height, RGB bytes) of a binary (P6) PPM with 8-bit samples."""
    with open(path, "rb") as f:
        data = f.read()
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos)
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    magic, w, h, maxval = fields[0], int(fields[1]), int(fields[2]), \
        int(fields[3])
    assert magic == b"P6" and maxval == 255, f"{path}: not an 8-bit P6 PPM"
    pixels = data[pos + 1:]
    assert len(pixels) >= w * h * 3, f"{path}: {len(pixels)} bytes of pixels"
    return w, h, pixels


def lit_rows(w, h, pixels):
    """Each pixel row as a string of '1' (lit: foreground) and '0' (black
    background), for str.find()."""
    rows = []
    for y in range(h):
        line = pixels[y * w * 3:(y + 1) * w * 3]
        rows.append("".join("1" if max(line[i:i + 3]) > 0x40 else "0"
                            for i in range(0, w * 3, 3)))
    return rows


def render(text):
    """The 16 pixel rows of `text` in the screen's font, as '0'/'1'."""
    return ["".join(format(FONT[ord(c)][y], "08b") for c in text)
            for y in range(mkfont.CELL_H)]


def find_text(rows, text):
    """(x, y) where `text` is drawn, or None. The search keys on the
    pattern row with the most lit pixels, then checks the other 15."""
    pat = render(text)
    key = max(range(len(pat)), key=lambda k: pat[k].count("1"))
    for y in range(len(rows) - len(pat) + 1):
        x = rows[y + key].find(pat[key])
        while x >= 0:
            if all(rows[y + k][x:x + len(pat[k])] == pat[k]
                   for k in range(len(pat))):
                return x, y
            x = rows[y + key].find(pat[key], x + 1)
    return None


def screen_text(rows):
    """The screen read back cell by cell on the 8x16 grid from the top
    left (fbcon's layout), for messages: '?' for a cell that is no glyph."""
    glyphs = {tuple(bits): chr(c) for c, bits in FONT.items()}
    out = []
    for y in range(0, len(rows) - mkfont.CELL_H + 1, mkfont.CELL_H):
        line = ""
        for x in range(0, len(rows[0]) - mkfont.CELL_W + 1, mkfont.CELL_W):
            cell = tuple(int(rows[y + k][x:x + 8], 2)
                         for k in range(mkfont.CELL_H))
            line += glyphs.get(cell, "?")
        out.append(line.rstrip())
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def colour_of(w, pixels, x, y, text):
    """The mean (r, g, b) of the lit pixels of `text` drawn at (x, y)."""
    sums, n = [0, 0, 0], 0
    for dy in range(mkfont.CELL_H):
        for dx in range(len(text) * mkfont.CELL_W):
            i = ((y + dy) * w + x + dx) * 3
            if max(pixels[i:i + 3]) > 0x40:
                for c in range(3):
                    sums[c] += pixels[i + c]
                n += 1
    return tuple(s // max(n, 1) for s in sums)


# ------------------------------------------------------------ the checks

def check_screen(m, serial, red_text=FAIL_TEXT, banner=True):
    """Dump the screen of machine `m` and check that fbcon drew `red_text`
    in red (and the banner) on it."""
    fb = re.search(r"fbcon: (\d+)x(\d+), (\d+) bpp at (0x[0-9a-f]+)", serial)
    assert fb, f"fbcon did not take the framebuffer:\n{serial[-3000:]}"
    path = m.screendump("screen.ppm")
    print(f"screendump: {os.path.relpath(path, REPO)} "
          f"({fb.group(1)}x{fb.group(2)}, {fb.group(3)} bpp)")
    w, h, pixels = read_ppm(path)
    assert (w, h) == (int(fb.group(1)), int(fb.group(2))), \
        f"{path}: {w}x{h}, fbcon said {fb.group(1)}x{fb.group(2)}"
    rows = lit_rows(w, h, pixels)
    lit = sum(r.count("1") for r in rows)
    assert lit > 1000, f"{path}: the screen is blank ({lit} lit pixels)"
    where = find_text(rows, red_text)
    assert where, f"{path}: {red_text!r} is not drawn; the screen reads:\n" \
        f"{screen_text(rows)}"
    r, g, b = colour_of(w, pixels, *where, red_text)
    assert r > 0xc0 and g < 0x90 and b < 0x90, \
        f"{path}: {red_text!r} at {where} is drawn in ({r}, {g}, {b}), " \
        "not red"
    assert not banner or find_text(rows, BANNER_TEXT), \
        f"{path}: no banner; the screen reads:\n{screen_text(rows)}"


def check_grub_boot(setup):
    with booted(setup, CMDLINE, f"fbcon-{setup}") as con:
        con.require(full=True)
        assert re.search(FAIL_RE, con.boot_text), con.boot_text[-3000:]
        check_screen(con.machine, con.boot_text)


@BOOT
def test_screen_bios_grub():
    """SeaBIOS, GRUB sets a VBE mode for Lamina's framebuffer tag."""
    check_grub_boot("qemu-bios")


@BOOT
def test_screen_uefi_grub():
    """OVMF, GRUB hands over GOP's framebuffer."""
    check_grub_boot("qemu-uefi")


@BOOT
def test_screen_lamina_efi():
    """OVMF on q35, lamina.efi (no GRUB) hands over GOP's mode."""
    from test_efi import boot, image, serial_text
    if not os.path.isfile(EFI):
        pytest.skip(f"SKIP qemu-uefi-usb: {EFI} missing "
                    "(make build/lamina.efi)")
    m = boot(image("fbcon", default="lamina", cmdline=CMDLINE),
             "fbcon-lamina-efi")
    try:
        m.expect(emu.PROMPT, timeout=m.setup.boot_timeout)
        text = serial_text(m)
        assert "boot: loader 'lamina.efi" in text, text[-3000:]
        assert re.search(FAIL_RE, text), text[-3000:]
        check_screen(m, text)
    finally:
        m.stop()


@BOOT
def test_screen_panic():
    """A panic (an invalid opcode on purpose, test.fault=ud) is drawn to
    its last line, in red, from the path that forces the log's lock."""
    from test_faults import panic_report
    with booted("qemu-bios", "test.fault=ud", "fbcon-panic") as con:
        report = panic_report(con)
        assert "exception 6" in report, report
        check_screen(con.machine, con.machine.transcript.text(),
                     "PANIC: cpu 0: system halted", banner=False)
