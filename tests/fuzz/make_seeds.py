#!/usr/bin/python3
"""Write the seed corpora for tests/fuzz/fuzz_bootinfo.c and fuzz_acpi.c.

Each seed is a well-formed input the fuzzer can mutate from, so it starts
deep inside the parsers instead of at "total_size too small". Run from the
repository root: /usr/bin/python3 tests/fuzz/make_seeds.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- multiboot2

def tag(ttype, payload=b""):
    t = struct.pack("<II", ttype, 8 + len(payload)) + payload
    return t + b"\0" * (-len(t) % 8)


def mbi(*tags):
    body = b"".join(tags) + tag(0)
    return struct.pack("<II", 8 + len(body), 0) + body


def cstr(s):
    return s.encode() + b"\0"


def mmap(entries, esize=24):
    out = struct.pack("<II", esize, 0)
    for base, length, mtype in entries:
        e = struct.pack("<QQII", base, length, mtype, 0)
        out += e + b"\0" * (esize - len(e))
    return tag(6, out)


def efi_mmap(descs, dsize=48):
    out = struct.pack("<II", dsize, 1)
    for mtype, start, pages in descs:
        d = struct.pack("<IIQQQQ", mtype, 0, start, 0, pages, 0xf)
        out += d + b"\0" * (dsize - len(d))
    return tag(17, out)


def module(start, end, name):
    return tag(3, struct.pack("<II", start, end) + cstr(name))


def rsdp(rev, rsdt, xsdt=0):
    """An RSDP with good checksums; 20 bytes for ACPI 1.0, else 36."""
    r = bytearray(b"RSD PTR " + b"\0" + b"LAMINA" + bytes([rev]) +
                  struct.pack("<I", rsdt))
    r[8] = -sum(r) & 0xff
    if rev < 2:
        return bytes(r)
    r += struct.pack("<IQ", 36, xsdt) + b"\0" * 4
    r[32] = -sum(r) & 0xff
    return bytes(r)


BIOS_MAP = [(0, 0x9fc00, 1), (0x9fc00, 0x400, 2), (0xf0000, 0x10000, 2),
            (0x100000, 0x7ee0000, 1), (0x7fe0000, 0x20000, 3),
            (0xfffc0000, 0x40000, 2), (0x100000000, 0x40000000, 1)]
EFI_MAP = [(3, 0, 1), (7, 0x1000, 0x9f), (0, 0xa0000, 0x60),
           (7, 0x100000, 0x700), (2, 0x800000, 0x100), (9, 0xa00000, 0x10),
           (10, 0xa10000, 0x10), (5, 0xa21000, 1), (11, 0xfec00000, 1)]


def bootinfo_seeds():
    write("fuzz_bootinfo", "minimal", mbi())
    write("fuzz_bootinfo", "bios", mbi(
        tag(1, cstr("console=com1 lamina.debug")),
        tag(2, cstr("GRUB 2.06")),
        tag(4, struct.pack("<II", 639, 130048)),
        mmap(BIOS_MAP),
        module(0x200000, 0x300000, "guest.bin"),
        module(0x300000, 0x380000, "initrd console=ttyS0"),
        tag(14, rsdp(0, 0x7fe0000)),
        tag(21, struct.pack("<I", 0x100000))))
    write("fuzz_bootinfo", "uefi", mbi(
        tag(1, cstr("")),
        tag(2, cstr("GRUB 2.12")),
        tag(12, struct.pack("<Q", 0x7f9e018)),
        tag(15, rsdp(2, 0x7fe0000, 0x7fe0100)),
        efi_mmap(EFI_MAP),
        tag(18)))
    write("fuzz_bootinfo", "both_maps", mbi(
        tag(11, struct.pack("<I", 0x1234)),
        efi_mmap(EFI_MAP, 40),
        mmap(BIOS_MAP, 32),
        tag(14, rsdp(0, 0x1000)),
        tag(15, rsdp(2, 0x1000, 0x2000))))
    # At the limits, so that small mutations cross them.
    ranges = [(i * 0x2000, 0x1000, 1 + i % 5) for i in range(255)]
    mods = [module(i * 0x1000, i * 0x1000 + 0x800, "m%d" % i)
            for i in range(16)]
    write("fuzz_bootinfo", "limits", mbi(
        tag(1, cstr("x" * 511)), mmap(ranges), *mods))
    # And one step past each, for the error paths.
    write("fuzz_bootinfo", "long_cmdline", mbi(tag(1, cstr("x" * 512))))
    write("fuzz_bootinfo", "many_modules", mbi(
        *(mods + [module(0x100000, 0x100800, "m16")])))
    write("fuzz_bootinfo", "many_ranges", mbi(
        efi_mmap([(7 if i % 2 else 8, i * 0x2000, 1) for i in range(257)])))


# ---------------------------------------------------------------- ACPI

IMG_BASE = 0xe0000
RSDP_OFF, RSDT_OFF, XSDT_OFF = 0x10, 0x100, 0x200
MADT_OFF, FADT_OFF = 0x400, 0x800
FIX_SUMS, SCAN, EBDA_IS_IMAGE, RSDP_20_BYTES = 1, 2, 4, 8


def sdt(sig, body):
    t = bytearray(sig + struct.pack("<IBB", 36 + len(body), 1, 0) +
                  b"LAMINA" + b"TESTTBL " + struct.pack("<III", 1, 0, 0))
    t += body
    t[9] = -sum(t) & 0xff
    return bytes(t)


def madt(x2apic=False, cpus=4, ioapics=1, cpu_flags=1):
    body = struct.pack("<II", 0xfee00000, 1)
    for i in range(cpus):
        body += struct.pack("<BBBBI", 0, 8, i, i * 2, cpu_flags)
    for i in range(ioapics):
        body += struct.pack("<BBBBII", 1, 12, 8 + i, 0, 0xfec00000 + i * 0x1000,
                            i * 24)
    body += struct.pack("<BBBBIH", 2, 10, 0, 0, 2, 0)
    body += struct.pack("<BBHQ", 5, 12, 0, 0xfee00000)
    if x2apic:
        body += struct.pack("<BBHIII", 9, 16, 0, 0x100, 1, 10)
        body += struct.pack("<BBHIII", 9, 16, 0, 0x101, 2, 11)
        body += struct.pack("<BBBBI", 0, 8, 9, 0xff, 0)
    return sdt(b"APIC", body)


def fadt():
    t = bytearray(276 - 36)
    struct.pack_into("<I", t, 76 - 36, 0x608)
    t[91 - 36] = 4
    struct.pack_into("<H", t, 109 - 36, 3)
    struct.pack_into("<I", t, 112 - 36, (1 << 8) | (1 << 10))
    struct.pack_into("<BBBBQ", t, 116 - 36, 1, 8, 0, 1, 0xcf9)
    t[128 - 36] = 6
    struct.pack_into("<BBBBQ", t, 208 - 36, 1, 32, 0, 3, 0x608)
    return sdt(b"FACP", bytes(t))


def acpi_image(rev, x2apic=False, cpus=4, ioapics=1, cpu_flags=1):
    img = bytearray(0x1000)
    tables = [IMG_BASE + MADT_OFF, IMG_BASE + FADT_OFF]

    def put(off, data):
        img[off:off + len(data)] = data

    put(RSDP_OFF, rsdp(rev, IMG_BASE + RSDT_OFF,
                       IMG_BASE + XSDT_OFF if rev >= 2 else 0))
    put(RSDT_OFF, sdt(b"RSDT", struct.pack("<%dI" % len(tables), *tables)))
    put(XSDT_OFF, sdt(b"XSDT", struct.pack("<%dQ" % len(tables), *tables)))
    put(MADT_OFF, madt(x2apic, cpus, ioapics, cpu_flags))
    put(FADT_OFF, fadt())
    return bytes(img)


def acpi_seed(flags, img):
    return struct.pack("<BH", flags, RSDP_OFF) + img


def acpi_seeds():
    write("fuzz_acpi", "rsdt_direct", acpi_seed(0, acpi_image(0)))
    write("fuzz_acpi", "xsdt_direct", acpi_seed(0, acpi_image(2)))
    write("fuzz_acpi", "xsdt_scan", acpi_seed(SCAN, acpi_image(2)))
    write("fuzz_acpi", "rsdt_ebda_fix",
          acpi_seed(SCAN | EBDA_IS_IMAGE | FIX_SUMS, acpi_image(0)))
    write("fuzz_acpi", "x2apic_fix", acpi_seed(FIX_SUMS, acpi_image(2, True)))
    write("fuzz_acpi", "v2_20_bytes",
          acpi_seed(RSDP_20_BYTES | FIX_SUMS, acpi_image(2)))
    # At the limits, so that small mutations cross them.
    write("fuzz_acpi", "many_cpus",
          acpi_seed(FIX_SUMS, acpi_image(0, cpus=66, ioapics=9)))
    write("fuzz_acpi", "all_cpus_disabled",
          acpi_seed(FIX_SUMS, acpi_image(2, cpu_flags=0)))


if __name__ == "__main__":
    bootinfo_seeds()
    acpi_seeds()
