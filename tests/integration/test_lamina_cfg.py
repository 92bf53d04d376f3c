"""lamina-cfg, the configuration compiler (tools/lamina-cfg), run as a
program: compiling the shipped configs, the blob it writes (decoded here
independently of the tool), --check, --dump round trips, --modules, every
broken config in tests/configs/bad-*.yaml, corrupt blobs, and usage
errors. No emulator is needed."""

import glob
import os
import shutil
import re
import struct
import subprocess
import zlib

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
# LAMINA_CFG=PATH tests another build (one with sanitizers, say).
TOOL = os.environ.get("LAMINA_CFG", os.path.join(REPO, "build", "lamina-cfg"))
DEMO = "configs/demo.yaml"
MULTI = "configs/multi.yaml"
BAD = sorted(glob.glob(os.path.join(REPO, "tests", "configs", "bad-*.yaml")))

# include/abi/config.h
HEADER = struct.Struct("<IHHIIIIIIIIIIIII9I")
VM = struct.Struct("<IIQIIIIIIQIIII6I")
REGION = struct.Struct("<QQII2I")
DEVICE = struct.Struct("<IIQQQ2I")
NONE = 0xffffffff
BOOT_RAW32, BOOT_RAW64, BOOT_REAL16, BOOT_MULTIBOOT, BOOT_LINUX = 1, 2, 3, 4, 5
CRASH_STOP, CRASH_RESTART, CRASH_DUMP = 1, 2, 3
VM_AUTOSTART = 1
DEV_UART, DEV_DEBUG_EXIT, DEV_PIO, DEV_MMIO = 1, 2, 3, 4
MEM_READONLY, MEM_LOG_DIRTY = 1, 2


@pytest.fixture(scope="module", autouse=True)
def tool():
    if not os.path.exists(TOOL):
        subprocess.run(["make", "build/lamina-cfg"], cwd=REPO, check=True,
                       capture_output=True)
    return TOOL


def run(*args, cwd=REPO):
    return subprocess.run([TOOL, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=30)


def compile_ok(src, out, cwd=REPO):
    r = run(src, "-o", str(out), cwd=cwd)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "" and r.stdout == ""
    with open(os.path.join(cwd, out), "rb") as f:
        return f.read()


def decode(blob):
    """The blob as plain Python values, checked against the ABI rules."""
    h = HEADER.unpack_from(blob)
    (magic, major, minor, total, crc, flags, log_level, monitor_cpu,
     nr_vms, vms_off, nr_regions, regions_off, nr_devices, devices_off,
     strings_size, strings_off) = h[:16]
    assert magic == 0x4746434c and (major, minor) == (1, 0)
    assert total == len(blob) and flags == 0 and not any(h[16:])
    zeroed = blob[:12] + b"\0\0\0\0" + blob[16:]
    assert zlib.crc32(zeroed) & 0xffffffff == crc
    strings = blob[strings_off:strings_off + strings_size]

    def s(off):
        return None if off == NONE else \
            strings[off:strings.index(b"\0", off)].decode()

    def region(k):
        gpa, size, flags, image = REGION.unpack_from(
            blob, regions_off + k * REGION.size)[:4]
        return gpa, size, flags, s(image)

    vms = []
    for i in range(nr_vms):
        v = VM.unpack_from(blob, vms_off + i * VM.size)
        assert not any(v[14:])
        vms.append(dict(name=s(v[0]), flags=v[1], cpus=v[2],
                        regions=[region(k) for k in range(v[3], v[3] + v[4])],
                        devices=[DEVICE.unpack_from(blob, devices_off + k *
                                                    DEVICE.size)[:5]
                                 for k in range(v[5], v[5] + v[6])],
                        kind=v[7], image=s(v[8]), entry=v[9],
                        cmdline=s(v[10]), initrd=s(v[11]), crash=v[12],
                        budget=v[13]))
    assert sum(len(v["regions"]) for v in vms) == nr_regions
    assert sum(len(v["devices"]) for v in vms) == nr_devices
    return dict(log_level=log_level, monitor_cpu=monitor_cpu, vms=vms)


def expectation(path):
    with open(path) as f:
        m = re.search(r"^# expect: (.*)$", f.read(), re.M)
    assert m, f"{path} has no '# expect:' line"
    return m.group(1)


# ---------------------------------------------------------------- compiling

def test_demo_compiles_to_the_blob_it_describes(tmp_path):
    cfg = decode(compile_ok(DEMO, tmp_path / "demo.bin"))
    assert cfg["log_level"] == 2 and cfg["monitor_cpu"] == 0
    tux, alpha, beta = cfg["vms"]
    assert tux["name"] == "tux" and tux["cpus"] == 0b1100
    assert tux["regions"] == [(0, 192 << 20, 0, None)]
    assert tux["devices"] == [(DEV_UART, 4, 0x3f8, 8, 0)]
    assert (tux["kind"], tux["image"]) == (BOOT_LINUX, "vmlinux")
    assert tux["initrd"] == "initramfs.cpio.gz"
    assert tux["cmdline"].startswith("console=ttyS0")
    assert tux["flags"] == VM_AUTOSTART
    assert alpha["name"] == "alpha" and alpha["cpus"] == 1 << 1
    assert alpha["regions"] == [(0, 1 << 20, 0, None),
                                (1 << 20, 15 << 20, 0, "hello32.bin")]
    assert alpha["devices"] == [(DEV_UART, 4, 0x3f8, 8, 0),
                                (DEV_DEBUG_EXIT, 0, 0xf4, 4, 0)]
    assert (alpha["kind"], alpha["entry"]) == (BOOT_RAW32, 0x100000)
    assert alpha["crash"] == CRASH_STOP
    assert beta["name"] == "beta" and beta["cpus"] == 1 << 0
    assert beta["regions"] == [(0, 1 << 20, 0, None),
                               (1 << 20, 15 << 20, 0, "echo32.bin"),
                               (16 << 20, 16 << 20, MEM_LOG_DIRTY, None)]
    for vm in (alpha, beta):
        assert vm["image"] is None and vm["cmdline"] is None
        assert vm["budget"] == 0
        assert vm["flags"] == VM_AUTOSTART
    assert (beta["kind"], beta["entry"]) == (BOOT_RAW32, 0x100000)


def test_multi_compiles_with_its_features(tmp_path):
    cfg = decode(compile_ok(MULTI, tmp_path / "multi.bin"))
    vms = {v["name"]: v for v in cfg["vms"]}
    assert [v["cpus"] for v in cfg["vms"]] == [1, 2, 4, 8]
    assert vms["console"]["crash"] == CRASH_DUMP
    assert vms["console"]["kind"] == BOOT_RAW32
    assert (vms["web"]["crash"], vms["web"]["budget"]) == (CRASH_RESTART, 5)
    assert vms["web"]["regions"][1][2] == MEM_READONLY
    assert (DEV_PIO, 0, 0x80, 1, 0) in vms["io"]["devices"]
    assert (DEV_MMIO, 0, 0xfed00000, 0x1000, 0xfed00000) in \
        vms["io"]["devices"]
    assert (vms["legacy"]["kind"], vms["legacy"]["entry"]) == \
        (BOOT_REAL16, 0x7c00)


def test_defaults(tmp_path):
    (tmp_path / "d.yaml").write_text(
        "vms:\n"
        "  - name: a\n    cpus: [1]\n    crash: restart\n"
        "    memory: [{gpa: 0, size: 2097152}]\n    boot: {kind: raw32}\n"
        "    devices:\n      - debug_exit: {port: 0xf4}\n"
        "      - mmio: {base: 0xfed00000, size: 4K}\n")
    cfg = decode(compile_ok("d.yaml", "d.bin", cwd=tmp_path))
    vm = cfg["vms"][0]
    assert cfg["log_level"] == 2 and cfg["monitor_cpu"] == 0
    assert vm["budget"] == 3 and vm["entry"] == 0x100000
    assert vm["devices"] == [(DEV_DEBUG_EXIT, 0, 0xf4, 4, 0),
                             (DEV_MMIO, 0, 0xfed00000, 0x1000, 0xfed00000)]


MULTIBOOT = "tests/configs/guest-multiboot.yaml"


@pytest.fixture(scope="module")
def mb32():
    """The multiboot test guest the config MULTIBOOT names."""
    subprocess.run(["make", "build/guests/mb32.bin"], cwd=REPO, check=True,
                   capture_output=True)


@pytest.mark.parametrize("cfg", [DEMO, MULTI, "tests/configs/boot-2cpu.yaml",
                                 MULTIBOOT])
def test_check_accepts_and_writes_nothing(cfg, mb32):
    before = set(os.listdir(os.path.join(REPO, os.path.dirname(cfg))))
    r = run("--check", cfg)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert set(os.listdir(os.path.join(REPO, os.path.dirname(cfg)))) == before


@pytest.mark.parametrize("cfg", [DEMO, MULTI, "tests/configs/boot-2cpu.yaml",
                                 MULTIBOOT])
def test_dump_round_trip(cfg, tmp_path, mb32):
    first = compile_ok(cfg, tmp_path / "first.bin")
    r = run("--dump", str(tmp_path / "first.bin"))
    assert r.returncode == 0, r.stderr
    (tmp_path / "dumped.yaml").write_text(r.stdout)
    # The dump names images by module name: put them beside it.
    mods = run("--modules", cfg)
    assert mods.returncode == 0, mods.stderr
    for line in mods.stdout.splitlines():
        name, path = line.split(" ", 1)
        shutil.copy(os.path.join(REPO, path), tmp_path / name)
    assert compile_ok(str(tmp_path / "dumped.yaml"),
                      tmp_path / "again.bin") == first


# ---------------------------------------------------------------- images

IMAGES_YAML = """\
vms:
  - name: lin
    cpus: [1]
    memory:
      - {gpa: 0x0, size: 64M}
      - {gpa: 0x8000000, size: 64K, flags: [readonly], image: %(rom)s}
    boot:
      kind: linux
      image: %(kernel)s
      initrd: %(initrd)s
      cmdline: "console=ttyS0 \\"quoted\\" \\u00e9\\t"
  - name: mb
    cpus: [2]
    memory: [{gpa: 0x0, size: 16M}]
    boot: {kind: multiboot, image: %(mb)s, initrd: %(initrd)s, cmdline: ""}
"""


def multiboot_kernel(paddr=0x100000):
    """A Multiboot v1 ELF32 kernel: one 4 KiB segment at paddr, entered at
    its start, as the validator checks it (kernel/guest/multiboot.c)."""
    b = bytearray(0x1100)
    b[0:16] = b"\x7fELF\x01\x01\x01" + bytes(9)
    struct.pack_into("<HHIIIIIHHHHHH", b, 16, 2, 3, 1, paddr, 52, 0, 0,
                     52, 32, 1, 0, 0, 0)
    struct.pack_into("<8I", b, 52, 1, 0x1000, paddr, paddr, 0x100, 0x1000,
                     5, 0x1000)
    magic, flags = 0x1badb002, 3
    struct.pack_into("<3I", b, 0x80, magic, flags,
                     -(magic + flags) & 0xffffffff)
    return bytes(b)


def bzimage_stub():
    """The smallest bzImage the validator takes (kernel/guest/linux_boot.c):
    a 2.15 setup header with a 64-bit entry, 4 KiB of kernel."""
    b = bytearray(0x400 + 0x1000)
    b[0x1f1] = 1                                  # setup_sects
    b[0x1fe:0x200] = b"\x55\xaa"
    b[0x200:0x202] = b"\xeb\x6a"                  # the header ends at 0x26c
    b[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", b, 0x206, 0x020f)
    b[0x211] = 0x01                               # LOADED_HIGH
    struct.pack_into("<II", b, 0x22c, 0x7fffffff, 0x200000)
    b[0x234], b[0x235] = 1, 21                    # relocatable, min alignment
    struct.pack_into("<HI", b, 0x236, 0x7f, 2047) # xloadflags, cmdline_size
    struct.pack_into("<II", b, 0x248, 0x100, 0x200)
    struct.pack_into("<QxxxxxxxxI", b, 0x258, 0x1000000, 0x200000)
    return bytes(b)


def images_dir(tmp_path, sub="."):
    d = tmp_path / sub
    (d / "img").mkdir(parents=True)
    (d / "img" / "bzImage").write_bytes(bzimage_stub())
    (d / "img" / "mb.elf").write_bytes(multiboot_kernel())
    (d / "img" / "initrd.img").write_bytes(b"I" * 100)
    (d / "img" / "rom.bin").write_bytes(b"R" * 4096)
    return d


def test_images_become_module_names(tmp_path):
    d = images_dir(tmp_path, "cfg")
    (d / "vms.yaml").write_text(IMAGES_YAML % dict(
        rom="img/rom.bin", kernel="img/bzImage", initrd="img/initrd.img",
        mb="img/mb.elf"))
    cfg = decode(compile_ok("cfg/vms.yaml", "out.bin", cwd=tmp_path))
    lin, mb = cfg["vms"]
    assert lin["image"] == "bzImage" and lin["initrd"] == "initrd.img"
    assert lin["regions"][1] == (0x8000000, 0x10000, MEM_READONLY, "rom.bin")
    assert lin["cmdline"] == 'console=ttyS0 "quoted" \u00e9\t'
    assert mb["image"] == "mb.elf" and mb["initrd"] == "initrd.img"
    assert mb["cmdline"] == ""
    r = run("--modules", "cfg/vms.yaml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    # In order of first mention, each once.
    assert r.stdout.splitlines() == ["rom.bin cfg/img/rom.bin",
                                     "bzImage cfg/img/bzImage",
                                     "initrd.img cfg/img/initrd.img",
                                     "mb.elf cfg/img/mb.elf"]
    for line in r.stdout.splitlines():
        assert os.path.isfile(tmp_path / line.split(" ", 1)[1])


def test_round_trip_with_images(tmp_path):
    """Plain basenames: the dump, next to the images, compiles back."""
    d = images_dir(tmp_path)
    for f in os.listdir(d / "img"):
        os.rename(d / "img" / f, d / f)
    (d / "vms.yaml").write_text(IMAGES_YAML % dict(
        rom="rom.bin", kernel="bzImage", initrd="initrd.img", mb="mb.elf"))
    first = compile_ok("vms.yaml", "first.bin", cwd=d)
    r = run("--dump", "first.bin", cwd=d)
    assert r.returncode == 0, r.stderr
    (d / "dumped.yaml").write_text(r.stdout)
    assert compile_ok("dumped.yaml", "again.bin", cwd=d) == first


def test_same_basename_of_two_files_is_an_error(tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "k.bin").write_bytes(b"x")
    (tmp_path / "c.yaml").write_text(
        "vms:\n"
        "  - {name: one, cpus: [1], memory: [{gpa: 0, size: 1M}],\n"
        "     boot: {kind: multiboot, image: a/k.bin}}\n"
        "  - {name: two, cpus: [2], memory: [{gpa: 0, size: 1M}],\n"
        "     boot: {kind: multiboot, image: b/k.bin}}\n")
    r = run("--check", "c.yaml", cwd=tmp_path)
    assert r.returncode == 1
    assert 'c.yaml:5:37: vms[1].boot.image: module name "k.bin" (the ' \
        "file's basename) is also that of a different file, a/k.bin " \
        "(line 3)" in r.stderr


def test_same_file_twice_is_one_module(tmp_path):
    (tmp_path / "k.bin").write_bytes(multiboot_kernel(0x20000))
    (tmp_path / "c.yaml").write_text(
        "vms:\n"
        "  - {name: one, cpus: [1], memory: [{gpa: 0, size: 1M}],\n"
        "     boot: {kind: multiboot, image: k.bin}}\n"
        "  - {name: two, cpus: [2], memory: [{gpa: 0, size: 1M}],\n"
        "     boot: {kind: multiboot, image: ./k.bin}}\n")
    r = run("--modules", "c.yaml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "k.bin k.bin\n"


def test_image_larger_than_its_region(tmp_path):
    (tmp_path / "big.bin").write_bytes(b"x" * 8192)
    (tmp_path / "c.yaml").write_text(
        "vms:\n"
        "  - name: one\n    cpus: [1]\n    memory:\n"
        "      - {gpa: 0, size: 1M}\n"
        "      - {gpa: 0x100000, size: 4K, image: big.bin}\n"
        "    boot: {kind: raw64}\n")
    r = run("--check", "c.yaml", cwd=tmp_path)
    assert r.returncode == 1
    assert "c.yaml:6:9: vms[0].memory[1]: vm 'one' (vm 0) region 1: " \
        "image 'big.bin' is 8192 bytes, more than the region's 0x1000" \
        in r.stderr


def test_multiboot_guest_config(tmp_path, mb32):
    cfg = decode(compile_ok(MULTIBOOT, tmp_path / "mb.bin"))
    (vm,) = cfg["vms"]
    assert (vm["name"], vm["kind"]) == ("mb", BOOT_MULTIBOOT)
    assert vm["image"] == "mb32.bin" and vm["initrd"] == "mb-module.txt"
    assert vm["cmdline"] == "mb32 check=1 text=hello"
    assert vm["regions"] == [(0, 640 << 10, 0, None),
                             (1 << 20, 15 << 20, 0, None)]
    r = run("--modules", MULTIBOOT)
    assert r.stdout.splitlines() == [
        "mb32.bin tests/configs/../../build/guests/mb32.bin",
        "mb-module.txt tests/configs/../guests/mb-module.txt"]


MB_YAML = """\
vms:
  - name: mb
    cpus: [1]
    memory:
%(memory)s
    boot:
      kind: multiboot
      image: %(image)s
%(more)s"""


@pytest.mark.parametrize("memory,image,more,want", [
    ("      - {gpa: 0, size: 16M}", "k.bin", "",
     None),
    ("      - {gpa: 0, size: 16M}", "k.bin", "      initrd: m.txt\n",
     None),
    ("      - {gpa: 0, size: 16M}", "junk.bin", "",
     "8:14: vms[0].boot.image: vm 'mb' (vm 0): boot image 'junk.bin': "
     "multiboot: no header in the first 8192 bytes"),
    ("      - {gpa: 0, size: 1M}", "k.bin", "",
     "8:14: vms[0].boot.image: vm 'mb' (vm 0): boot image 'k.bin': "
     "segment [0x100000, 0x101000) is not inside writable regions of the "
     "VM"),
    ("      - {gpa: 0, size: 1M}\n"
     "      - {gpa: 0x100000, size: 4K}", "k.bin", "      initrd: m.txt\n",
     "10:15: vms[0].boot.initrd: vm 'mb' (vm 0): initrd 'm.txt' (5000 "
     "bytes) goes after the kernel at [0x101000, 0x102388): not all "
     "writable RAM below 4 GiB"),
    ("      - {gpa: 0x10000, size: 16M}", "k.bin", "",
     "7:13: vms[0].boot.kind: vm 'mb' (vm 0): boot kind multiboot needs a "
     "writable region holding [0x8000, 0x10000) for the multiboot "
     "information"),
    ("      - {gpa: 0, size: 16M, flags: [readonly]}", "k.bin", "",
     "7:13: vms[0].boot.kind: vm 'mb' (vm 0): boot kind multiboot needs a "
     "writable region"),
])
def test_multiboot_checks(tmp_path, memory, image, more, want):
    """The kernel's header and segments, its module and the information
    area at 0x8000 are checked when the config is compiled."""
    (tmp_path / "k.bin").write_bytes(multiboot_kernel())
    (tmp_path / "junk.bin").write_bytes(b"K" * 9000)
    (tmp_path / "m.txt").write_bytes(b"m" * 5000)
    (tmp_path / "c.yaml").write_text(MB_YAML % dict(
        memory=memory, image=image, more=more))
    r = run("--check", "c.yaml", cwd=tmp_path)
    if want is None:
        assert (r.returncode, r.stderr) == (0, ""), r.stderr
    else:
        assert r.returncode == 1 and "c.yaml:" + want in r.stderr, r.stderr


def test_initrd_needs_a_loader_kind(tmp_path):
    (tmp_path / "m.txt").write_bytes(b"m")
    (tmp_path / "c.yaml").write_text(
        "vms: [{name: a, cpus: [1], memory: [{gpa: 0, size: 1M}],"
        " boot: {kind: raw32, initrd: m.txt}}]\n")
    r = run("--check", "c.yaml", cwd=tmp_path)
    assert r.returncode == 1
    assert "c.yaml:1:86: vms[0].boot.initrd: only boot kinds multiboot " \
        "and linux take one" in r.stderr, r.stderr


# ---------------------------------------------------------------- mistakes

REQUIRED_BAD = {"syntax", "unknown-key", "size-suffix", "overlap",
                "cpu-twice", "com1", "no-boot-kind", "dup-name",
                "real16-entry", "missing-image"}


def test_every_kind_of_mistake_has_a_config():
    have = {os.path.basename(p)[4:-5] for p in BAD}
    assert REQUIRED_BAD <= have


@pytest.mark.parametrize("path", BAD, ids=lambda p: os.path.basename(p))
def test_bad_config(path, tmp_path):
    rel = os.path.relpath(path, REPO)
    want = f"{rel}:{expectation(path)}"
    r = run("--check", rel)
    assert r.returncode == 1
    # One mistake, one message: nothing reported twice or in passing.
    assert len(r.stderr.splitlines()) == 1 and want in r.stderr, r.stderr
    assert r.stdout == ""
    # -o writes nothing, and leaves no temporary file behind.
    out = tmp_path / "out.bin"
    out.write_bytes(b"old")
    r = run(rel, "-o", str(out))
    assert r.returncode == 1 and want in r.stderr
    assert out.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_every_problem_is_reported(tmp_path):
    (tmp_path / "c.yaml").write_text(
        "log_level: loud\n"
        "vms:\n"
        "  - name: a b\n"
        "    cpus: [1]\n"
        "    memory: [{gpa: 0, size: 4X}]\n"
        "    boot: {kind: raw64, colour: red}\n")
    r = run("--check", "c.yaml", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        'c.yaml:1:12: log_level: "loud" is not one of error, warn, info, '
        'debug',
        'c.yaml:3:11: vms[0].name: "a b" is not a valid name (1 to 31 '
        'characters of A-Z a-z 0-9 _ -)',
        'c.yaml:5:29: vms[0].memory[0].size: "4X" is not a size (use '
        'bytes or K/M/G)',
        'c.yaml:6:25: vms[0].boot: unknown key "colour" (known: kind, '
        'image, entry, cmdline, initrd)',
    ]


def test_every_validator_problem_is_reported(tmp_path):
    (tmp_path / "c.yaml").write_text(
        "vms:\n"
        "  - name: a\n    cpus: [1]\n"
        "    memory: [{gpa: 0, size: 1M}, {gpa: 0x1000, size: 4K}]\n"
        "    boot: {kind: raw64, entry: 0x200000}\n"
        "  - name: b\n    cpus: [1]\n"
        "    memory: [{gpa: 0x800, size: 1M}]\n"
        "    boot: {kind: raw32, entry: 0x1000}\n")
    r = run("--check", "c.yaml", cwd=tmp_path)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert "c.yaml:5:32: vms[0].boot.entry: vm 'a' (vm 0): entry " \
        "0x200000 is not inside any of its regions" in lines
    assert "c.yaml:7:11: vms[1].cpus: vm 'b' (vm 1): pCPU 1 also in " \
        "vm 'a' (vm 0)" in lines
    assert "c.yaml:8:14: vms[1].memory[0]: vm 'b' (vm 1) region 2: gpa " \
        "0x800 is not 4 KiB aligned" in lines
    assert "c.yaml:4:34: vms[0].memory[1]: vm 'a' (vm 0) region 1: " \
        "[0x1000, 0x2000) overlaps region 0" in lines
    assert len(lines) == 4


@pytest.mark.parametrize("text,want", [
    ("", "1:1: the file is empty"),
    ("vms: []\n---\nvms: []\n", "2:1: a second YAML document"),
    ("- 1\n", "1:1: expected a mapping, found a list"),
    ("vms: [{name: a, cpus: [], memory: [], boot: {kind: raw64}}]\n",
     "1:23: vms[0].cpus: at least one pCPU is needed"),
    ("vms: {}\n", "1:6: vms: expected a list, found a mapping"),
    ("vms: [{name: a, cpus: [1, 1], memory: [{gpa: 0, size: 4K}],"
     " boot: {kind: raw64}}]\n", "1:27: vms[0].cpus[1]: pCPU 1 is listed "
     "twice"),
    ("vms: [{name: a, cpus: [1], memory: [{gpa: 0, size: 4K}],"
     " boot: {kind: raw64, cmdline: x}}]\n",
     "1:87: vms[0].boot.cmdline: only boot kinds multiboot and linux "
     "take one"),
    ("vms: [{name: a, cpus: [1], memory: [{gpa: 0, size: 4K}],"
     " boot: {kind: linux}}]\n", 'vms[0].boot: boot kind linux needs an '
     '"image"'),
    ("vms: [{name: a, cpus: [1], autostart: yes, memory: [{gpa: 0, "
     "size: 4K}], boot: {kind: raw64}}]\n",
     '1:39: vms[0].autostart: expected true or false, found "yes"'),
    ("vms: [{name: a, cpus: [1], memory: [{gpa: 0, size: 4K}],"
     " boot: {kind: raw64}, devices: [{uart: {port: 0x10000, irq: 4}}]}]\n",
     'vms[0].devices[0].uart.port: "0x10000" is out of range (0 to '
     '0xffff)'),
    ("vms: [{name: a, cpus: [1], memory: [{gpa: 0, size: 4K}],"
     " boot: {kind: raw64}, devices: [{uart: {port: 0x2f8}, pio: {}}]}]\n",
     "vms[0].devices[0]: a device is a mapping with one key"),
    ("vms: [{name: a, cpus: [1], memory: [{gpa: 0, size: 4K, image: "
     "config}], boot: {kind: raw64}}]\n",
     'vms[0].memory[0].image: "config" has the file name "config", the '
     'module name of the blob itself'),
    ("monitor_cpu: 0x40\nvms: []\n",
     '1:14: monitor_cpu: "0x40" is out of range (0 to 63)'),
    ("vms: [{name: a, cpus: [1], memory: [{gpa: 0, size: 99999999999G}],"
     " boot: {kind: raw64}}]\n", '"99999999999G" is too large'),
    ("vms: [{name: a, cpus: [1], memory: [{gpa: 0, size: 4K}],"
     " boot: {kind: raw64}}]\n\xff\n", "syntax error"),
])
def test_schema_rules(tmp_path, text, want):
    (tmp_path / "c.yaml").write_bytes(text.encode("latin-1"))
    r = run("--check", "c.yaml", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert want in r.stderr, r.stderr


# ---------------------------------------------------------------- blobs

def test_flipped_byte_fails_dump_with_crc(tmp_path):
    blob = bytearray(compile_ok(DEMO, tmp_path / "demo.bin"))
    blob[len(blob) // 2] ^= 0x40
    (tmp_path / "bad.bin").write_bytes(blob)
    r = run("--dump", str(tmp_path / "bad.bin"))
    assert r.returncode == 1 and r.stdout == ""
    assert re.search(r"bad\.bin: header: CRC-32 0x[0-9a-f]{8} does not "
                     r"match the contents \(0x[0-9a-f]{8}\)", r.stderr)


def test_broken_blob_prints_every_problem(tmp_path):
    blob = bytearray(compile_ok(DEMO, tmp_path / "demo.bin"))
    struct.pack_into("<I", blob, 20, 9)      # log_level
    struct.pack_into("<I", blob, 16, 1)      # flags
    (tmp_path / "bad.bin").write_bytes(blob)
    r = run("--dump", str(tmp_path / "bad.bin"))
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert any("CRC-32" in line for line in lines)
    assert any("flags 0x1: none are defined" in line for line in lines)
    assert any("log_level 9 is more than 3" in line for line in lines)


def test_truncated_blob(tmp_path):
    (tmp_path / "short.bin").write_bytes(
        compile_ok(DEMO, tmp_path / "demo.bin")[:40])
    r = run("--dump", str(tmp_path / "short.bin"))
    assert r.returncode == 1
    assert "shorter than the 96-byte header" in r.stderr


def test_output_replaces_an_old_file(tmp_path):
    out = tmp_path / "demo.bin"
    out.write_bytes(b"old contents")
    compile_ok(DEMO, out)
    assert out.read_bytes()[:4] == b"LCFG"
    assert os.listdir(tmp_path) == ["demo.bin"]


# ---------------------------------------------------------------- usage

@pytest.mark.parametrize("args,why", [
    ([], "no input file"),
    (["--check"], "no input file"),
    (["--check", "a.yaml", "b.yaml"], "more than one input file"),
    ([DEMO], "nothing to do"),
    (["--check", "--dump", DEMO], "give one of"),
    (["--frobnicate", DEMO], "unknown option"),
    ([DEMO, "-o"], "missing argument"),
    (["--check", "no/such/file.yaml"], "cannot read no/such/file.yaml"),
    (["--dump", "no/such/file.bin"], "cannot read no/such/file.bin"),
])
def test_usage_errors(args, why):
    r = run(*args)
    assert r.returncode == 2, r.stderr
    assert why in r.stderr and "usage: lamina-cfg" in r.stderr


def test_help():
    r = run("--help")
    assert r.returncode == 0
    for word in ("-o FILE.bin", "--check", "--dump", "--modules",
                 "docs/config.md", "Exit status"):
        assert word in r.stdout
