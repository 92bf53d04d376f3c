#!/usr/bin/python3
"""Extract the uncompressed vmlinux ELF from an XZ-compressed bzImage.

    tools/linux-guest/extract-vmlinux.py BZIMAGE [-o VMLINUX] [--pvh-entry]

BZIMAGE may also be a vmlinux already extracted. -o writes the ELF.
--pvh-entry prints the PVH 32-bit entry point (the physical address a PVH
loader jumps to in 32-bit protected mode) from the ELF's "Xen" note
XEN_ELFNOTE_PHYS32_ENTRY, as 0x..., and fails if the kernel has none
(built without CONFIG_PVH).

The payload is found from the setup header (boot protocol 2.08+) rather
than by scanning for a magic as scripts/extract-vmlinux does, so a stray
XZ signature elsewhere in the image cannot be taken for it.
"""

import argparse
import lzma
import os
import struct
import sys

XEN_ELFNOTE_PHYS32_ENTRY = 18
PT_NOTE = 4


def die(msg):
    sys.exit(f"extract-vmlinux.py: {msg}")


def payload(image):
    if len(image) < 0x250 or image[0x202:0x206] != b"HdrS":
        die("not a bzImage (no 'HdrS' setup header)")
    if struct.unpack_from("<H", image, 0x206)[0] < 0x208:
        die("boot protocol older than 2.08: no payload fields")
    setup_sects = image[0x1F1] or 4
    pm_start = (setup_sects + 1) * 512
    offset, length = struct.unpack_from("<II", image, 0x248)
    return image[pm_start + offset:pm_start + offset + length]


def decompress(data):
    if not data.startswith(b"\xfd7zXZ\0"):
        die(f"payload is not XZ (starts {data[:6].hex()}); "
            "only XZ kernels, as Debian builds them, are handled")
    # The kernel build appends the uncompressed size (4 bytes) after the XZ
    # stream; the decompressor stops at the stream's end and leaves it.
    d = lzma.LZMADecompressor(lzma.FORMAT_XZ)
    try:
        out = d.decompress(data)
    except lzma.LZMAError as e:
        die(f"XZ payload is corrupt: {e}")
    if not d.eof:
        die("XZ payload is truncated")
    if out[:4] != b"\x7fELF" or out[4] != 2:
        die("payload is not a 64-bit ELF")
    return out


def notes(elf):
    """Yield (name, type, desc) of every note in the PT_NOTE segments."""
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        ph = phoff + i * phentsize
        p_type, = struct.unpack_from("<I", elf, ph)
        if p_type != PT_NOTE:
            continue
        off, = struct.unpack_from("<Q", elf, ph + 0x08)
        size, = struct.unpack_from("<Q", elf, ph + 0x20)
        pos, end = off, off + size
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
            pos += 12
            name = elf[pos:pos + namesz].rstrip(b"\0")
            pos += (namesz + 3) & ~3
            desc = elf[pos:pos + descsz]
            pos += (descsz + 3) & ~3
            yield name, ntype, desc


def pvh_entry(elf):
    for name, ntype, desc in notes(elf):
        if name == b"Xen" and ntype == XEN_ELFNOTE_PHYS32_ENTRY:
            if len(desc) not in (4, 8):
                die(f"PHYS32_ENTRY note has {len(desc)} bytes, not 4 or 8")
            return int.from_bytes(desc, "little")
    die("no Xen PHYS32_ENTRY note: kernel built without CONFIG_PVH")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("bzimage")
    p.add_argument("-o", "--output", help="write the vmlinux ELF here")
    p.add_argument("--pvh-entry", action="store_true",
                   help="print the PVH 32-bit entry point")
    args = p.parse_args()
    if not args.output and not args.pvh_entry:
        p.error("nothing to do: give -o and/or --pvh-entry")
    try:
        with open(args.bzimage, "rb") as f:
            image = f.read()
    except OSError as e:
        die(str(e))
    # An already extracted vmlinux is taken as it is, for --pvh-entry.
    elf = image if image[:4] == b"\x7fELF" else decompress(payload(image))
    if args.output:
        with open(args.output + ".tmp", "wb") as f:
            f.write(elf)
        os.replace(args.output + ".tmp", args.output)
    if args.pvh_entry:
        print(f"0x{pvh_entry(elf):x}")


if __name__ == "__main__":
    main()
