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
SPCR_OFF, HPET_OFF, DSDT_OFF, SSDT_OFF = 0x940, 0x9a0, 0xa00, 0xe00
IMG_LEN = 0x1400
FIX_SUMS, SCAN, EBDA_IS_IMAGE, RSDP_20_BYTES = 1, 2, 4, 8
AML_ONLY, SHORT_WHY = 16, 32


def sdt(sig, body, rev=1):
    t = bytearray(sig + struct.pack("<IBB", 36 + len(body), rev, 0) +
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


def gas(space, width, access, addr):
    return struct.pack("<BBBBQ", space, width, 0, access, addr)


def fadt(hw_reduced=False):
    """ACPI 2.0+ FADT; hw_reduced: revision 6, sleep registers, no PM1."""
    t = bytearray(276 - 36)
    dsdt = IMG_BASE + DSDT_OFF
    struct.pack_into("<I", t, 76 - 36, 0x608)
    t[91 - 36] = 4
    struct.pack_into("<H", t, 109 - 36, 3)
    flags = (1 << 8) | (1 << 10) | ((1 << 20) if hw_reduced else 0)
    struct.pack_into("<I", t, 112 - 36, flags)
    t[116 - 36:128 - 36] = gas(1, 8, 1, 0xcf9)
    t[128 - 36] = 6
    struct.pack_into("<Q", t, 140 - 36, dsdt)
    t[208 - 36:220 - 36] = gas(1, 32, 3, 0x608)
    if hw_reduced:
        t[244 - 36:256 - 36] = gas(1, 8, 1, 0x600)
        t[256 - 36:268 - 36] = gas(1, 8, 1, 0x601)
    else:
        struct.pack_into("<IIBB", t, 40 - 36, dsdt, 0, 0, 0)
        struct.pack_into("<IB", t, 48 - 36, 0xb2, 0xf0)
        struct.pack_into("<I", t, 64 - 36, 0x604)
        t[89 - 36] = 2
        t[172 - 36:184 - 36] = gas(1, 16, 2, 0x604)
    return sdt(b"FACP", bytes(t), 6 if hw_reduced else 4)


def spcr(rev=2, iface=0, base=gas(1, 8, 1, 0x3f8), baud=7, pci=None,
         precise=0):
    """pci: (vendor, device, bus, dev, fn) of a serial card, or None."""
    t = bytearray(80 - 36 if rev < 4 else 88 - 36)
    t[0] = iface
    t[40 - 36:52 - 36] = base
    struct.pack_into("<BBI", t, 52 - 36, 3, 4, 4)
    t[58 - 36:62 - 36] = bytes([baud, 0, 1, 2])
    vendor, device, bus, dev, fn = pci or (0xffff, 0xffff, 0, 0, 0)
    struct.pack_into("<HHBBBIB", t, 64 - 36, device, vendor, bus, dev, fn,
                     1 if pci else 0, 0)
    struct.pack_into("<I", t, 76 - 36, 1843200 if rev >= 3 else 0)
    if rev >= 4:
        struct.pack_into("<IHH", t, 80 - 36, precise, 0, 0)
    return sdt(b"SPCR", bytes(t), rev)


def hpet(space=0, base=0xfed00000):
    return sdt(b"HPET", struct.pack("<I", 0x8086a701) + gas(space, 64, 0, base) +
               struct.pack("<BHB", 0, 0x80, 0))


def pkglen(payload):
    """AML PkgLength (ACPI 20.2.4) of a package with @payload more bytes."""
    for n in (1, 2, 3, 4):
        total = payload + n
        if n == 1 and total <= 0x3f:
            return bytes([total])
        if n > 1 and total < 1 << (4 + 8 * (n - 1)):
            out = [((n - 1) << 6) | (total & 0xf)]
            out += [(total >> (4 + 8 * i)) & 0xff for i in range(n - 1)]
            return bytes(out)
    raise ValueError(payload)


def s5(typa=5, typb=5, prefix=b"", extra=b""):
    """Name(<prefix>_S5_, Package() { typa, typb, 0, 0<extra> })."""
    body = bytes([4, 0x0a, typa, 0x0a, typb, 0, 0]) + extra
    return b"\x08" + prefix + b"_S5_\x12" + pkglen(len(body)) + body


# What precedes \_S5 in a real DSDT: Name(_S4_, ...), a Store(_S5_, Local0).
AML_HEAD = (b"\x08_S4_\x12\x08\x04\x0a\x04\x0a\x04\x00\x00" +
            b"\x70_S5_\x60")


def dsdt(aml, sig=b"DSDT"):
    return sdt(sig, AML_HEAD + aml, 2)


def acpi_image(rev, x2apic=False, cpus=4, ioapics=1, cpu_flags=1,
               hw_reduced=False, spcr_table=None, dsdt_aml=None,
               ssdt_aml=None):
    img = bytearray(IMG_LEN)
    tables = [IMG_BASE + MADT_OFF, IMG_BASE + FADT_OFF,
              IMG_BASE + SPCR_OFF, IMG_BASE + HPET_OFF]

    def put(off, data):
        assert off + len(data) <= len(img)
        img[off:off + len(data)] = data

    if ssdt_aml is not None:
        tables.append(IMG_BASE + SSDT_OFF)
        put(SSDT_OFF, dsdt(ssdt_aml, b"SSDT"))
    put(RSDP_OFF, rsdp(rev, IMG_BASE + RSDT_OFF,
                       IMG_BASE + XSDT_OFF if rev >= 2 else 0))
    put(RSDT_OFF, sdt(b"RSDT", struct.pack("<%dI" % len(tables), *tables)))
    put(XSDT_OFF, sdt(b"XSDT", struct.pack("<%dQ" % len(tables), *tables)))
    put(MADT_OFF, madt(x2apic, cpus, ioapics, cpu_flags))
    put(FADT_OFF, fadt(hw_reduced))
    put(SPCR_OFF, spcr_table or spcr())
    put(HPET_OFF, hpet())
    put(DSDT_OFF, dsdt(s5() if dsdt_aml is None else dsdt_aml))
    return bytes(img)


def acpi_seed(flags, img, off=RSDP_OFF):
    return struct.pack("<BH", flags, off) + img


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
    # SPCR, HPET, sleep registers and \_S5 in their variants.
    write("fuzz_acpi", "hw_reduced_fix",
          acpi_seed(FIX_SUMS, acpi_image(2, hw_reduced=True)))
    write("fuzz_acpi", "spcr_mmio32_pci_fix", acpi_seed(FIX_SUMS, acpi_image(
        2, spcr_table=spcr(4, 0x12, gas(0, 32, 3, 0xfe032000), 0,
                           (0x8086, 0x9d27, 0, 0x1e, 0), 1500000))))
    write("fuzz_acpi", "spcr_rev1_fix", acpi_seed(FIX_SUMS, acpi_image(
        0, spcr_table=spcr(1, 1, gas(1, 8, 0, 0x2f8), 3))))
    write("fuzz_acpi", "s5_in_ssdt_fix", acpi_seed(FIX_SUMS, acpi_image(
        2, dsdt_aml=b"", ssdt_aml=s5(7, 7, b"\\"))))
    write("fuzz_acpi", "s5_pkglen2_fix", acpi_seed(FIX_SUMS, acpi_image(
        2, dsdt_aml=s5(extra=b"\x0d" + b"x" * 100 + b"\x00"))))
    write("fuzz_acpi", "s5_pkglen3_fix", acpi_seed(FIX_SUMS, acpi_image(
        2, dsdt_aml=b"\x08_S5_\x12\x88\x00\x00\x04\x00\x01\x00\x00")))
    # The AML scanner alone: names that are not _S5_, then \_S5_ with a
    # word and a dword element.
    aml = (AML_HEAD + b"\x08^_S6_\x0a\x01" +
           b"\x08\\_S5_\x12\x0b\x04\x0b\x07\x00\x0c\x01\x00\x00\x00\x00\x00")
    write("fuzz_acpi", "aml_only", acpi_seed(AML_ONLY, aml, 0))
    write("fuzz_acpi", "aml_only_short_why",
          acpi_seed(AML_ONLY | SHORT_WHY, s5(3, 4, extra=b"\xff"), 0))


if __name__ == "__main__":
    bootinfo_seeds()
    acpi_seeds()
