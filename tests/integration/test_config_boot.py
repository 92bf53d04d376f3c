"""VMs from the configuration blob, on both vendors: validated at boot,
shown by `vms`, `slots` and `xlate`; a corrupt blob is reported problem by
problem, creates nothing, and the monitor still works."""

import os
import re
import struct
import subprocess
import zlib

import pytest

from conftest import CFG_TOOL, REPO, booted

BOOT = pytest.mark.timeout(240)
CONFIGS = {"qemu-bios": os.path.join(REPO, "tests", "configs",
                                     "boot-default.yaml"),
           "bochs-vmx": os.path.join(REPO, "tests", "configs",
                                     "boot-2cpu.yaml")}
BLOB_DIR = os.path.join(REPO, "build", "test-blobs")

# include/abi/config.h
HDR_CRC, HDR_NR_VMS, HDR_VMS_OFF = 12, 28, 32
HDR_REGIONS_OFF = 40
VM_SIZE, VM_CPUS, VM_FIRST_REGION, VM_NR_REGIONS = 88, 8, 16, 20
REGION_SIZE = 32


def compile_blob(yaml_path, name):
    os.makedirs(BLOB_DIR, exist_ok=True)
    out = os.path.join(BLOB_DIR, name)
    subprocess.run([CFG_TOOL, yaml_path, "-o", out], check=True,
                   capture_output=True)
    with open(out, "rb") as f:
        return bytearray(f.read())


def u32(b, off):
    return struct.unpack_from("<I", b, off)[0]


def fix_crc(b):
    struct.pack_into("<I", b, HDR_CRC, 0)
    struct.pack_into("<I", b, HDR_CRC, zlib.crc32(bytes(b)) & 0xffffffff)


def vm_off(b, i):
    return u32(b, HDR_VMS_OFF) + i * VM_SIZE


def corrupt_blob(setup, crc_ok):
    """The setup's config with VM 1's CPUs set to VM 0's and VM 1's second
    region moved onto its first; with a bad CRC unless `crc_ok`."""
    # A config without images: a bare blob carries no modules.
    b = compile_blob(CONFIGS["bochs-vmx"], f"{setup}-corrupt.bin")
    v0, v1 = vm_off(b, 0), vm_off(b, 1)
    b[v1 + VM_CPUS:v1 + VM_CPUS + 8] = b[v0 + VM_CPUS:v0 + VM_CPUS + 8]
    first = u32(b, v1 + VM_FIRST_REGION)
    assert u32(b, v1 + VM_NR_REGIONS) >= 2, "VM 1 needs two regions"
    r0 = u32(b, HDR_REGIONS_OFF) + first * REGION_SIZE
    r1 = r0 + REGION_SIZE
    b[r1:r1 + 8] = b[r0:r0 + 8]          # same guest-physical base
    fix_crc(b)
    if not crc_ok:
        struct.pack_into("<I", b, HDR_CRC, u32(b, HDR_CRC) ^ 1)
    path = os.path.join(BLOB_DIR, f"{setup}-corrupt-{crc_ok}.bin")
    with open(path, "wb") as f:
        f.write(b)
    return path


def vm_rows(con):
    rows = {}
    for line in con.run("vms"):
        m = re.match(r"\s*(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d+) MiB\s+(\d+)",
                     line)
        if m:
            rows[m.group(2)] = m.groups()
    return rows


@BOOT
@pytest.mark.parametrize("setup", list(CONFIGS))
def test_vms_slots_xlate(setup):
    with booted(setup, logname=f"config-{setup}",
                config=CONFIGS[setup]) as con:
        con.require(full=True)
        assert "VMs created from the config" in con.boot_text
        rows = vm_rows(con)
        assert len(rows) >= 2, rows
        assert all(r[2] == "created" for r in rows.values()), rows
        for name in rows:
            lines = con.run(f"slots {name}")
            assert re.match(rf"vm '{name}': generation \d+, \d+ slots, "
                            r"(EPT|NPT) tables \d+ pages", lines[0]), lines
            fmt = "EPT" if setup.startswith("bochs-vmx") else "NPT"
            assert fmt in lines[0], lines
            slots = [ln for ln in lines[2:] if re.match(r"\s*\d+\s+0x", ln)]
            assert slots, lines
        walk = con.run(f"xlate {list(rows)[0]} 0x1234")
        assert re.match(r"GPA 0x1234 -> HPA 0x[0-9a-f]+ \((2M|1G|4K) page, "
                        r"rwx, WB\)", walk[-1]), walk
        assert len(walk) >= 3, walk   # PML4, PDPT, PD at least
        hole = con.run(f"xlate {list(rows)[0]} 0x7fff0000000")
        assert hole[-1] == "GPA 0x7fff0000000: not mapped", hole
        assert con.run("xlate nosuchvm 0")[0].startswith("error: no VM")


@BOOT
@pytest.mark.parametrize("setup", list(CONFIGS))
def test_corrupt_blob_reports_every_problem(setup):
    blob = corrupt_blob(setup, crc_ok=False)
    with booted(setup, logname=f"config-corrupt-{setup}",
                config=blob) as con:
        con.require(full=True)
        text = con.boot_text
        assert re.search(r"config: header: CRC-32 0x[0-9a-f]+ does not match "
                         r"the contents", text), text
        assert re.search(r"config: vm '\w+' \(vm 1\): pCPU \d+ also in "
                         r"vm '\w+' \(vm 0\)", text), text
        assert re.search(r"config: vm '\w+' \(vm 1\) region \d+: \[0x0, "
                         r"0x[0-9a-f]+\) overlaps region \d+", text), text
        assert "the config was rejected: 3 problems" in text, text
        assert "VMs created" not in text
        vms = con.run("vms")
        assert vms[0].startswith("no VMs: the config was rejected"), vms
        assert con.run("version")[0].startswith("Lamina ")
