#!/usr/bin/python3
"""Build the KVM peer's initramfs: Linux KVM running Lamina's exit-cost guest.

    tools/kvm-peer/mkinitramfs.py OUTPUT.cpio.gz --kvmexit PATH --guest PATH
        [--linux-dir build/linux] [--busybox /bin/busybox]

The archive holds static busybox, the KVM modules of the kernel in
LINUX_DIR (kvm.ko, kvm-amd.ko, kvm-intel.ko and what they depend on),
/kvmexit (tools/kvm-peer/kvmexit.c) and /exitcost32.bin. Its /init loads
the modules for the CPU's vendor, runs `/kvmexit /exitcost32.bin` and
powers off. What it prints on the console, for bench/kvm_peer.py:

    KVM-PEER vendor=svm|vmx modules=...     (the modules it loads)
    KVM-PEER cpus=N vcpu-thread-on=C passes=P nohz_full=LIST
    then P times (kvm_peer.passes=P on the command line, default 3):
    KVM-PEER pass=I
    EXITCOST ...                            (the guest, through kvmexit)
    KVM-PEER irqs=N (LOC:n ...)             (interrupts CPU C took during
                                             the pass, by /proc/interrupts
                                             line: one that lands in a
                                             timed loop counts in its
                                             figure)
    and at last
    KVM-PEER done rc=N                      (kvmexit's exit status, the
                                             first that is not 0)
    KVM-PEER skip: ...                      (no KVM for this CPU: a reason)

Where the modules come from: tools/linux-guest/fetch-kernel.sh unpacks only
./boot of Debian's kernel package and keeps the .deb in LINUX_DIR. This
script reads the modules it needs straight out of that .deb (dpkg-deb
--fsys-tarfile, streamed: nothing else is unpacked). The package ships no
modules.dep (depmod makes it at install time), so dependencies come from
each module's own .modinfo `depends=` field, the source depmod reads too.
A .deb that lacks the modules of one vendor gives an initramfs without
them: its /init says "KVM-PEER skip" on that vendor's CPUs and OUTPUT's
manifest (OUTPUT with .json for .cpio.gz) lists what is missing.

Compressed modules (.ko.xz, .ko.gz) are decompressed into the archive, so
busybox insmod loads them whatever the kernel's CONFIG_MODULE_DECOMPRESS.
"""

import argparse
import glob
import gzip
import importlib.util
import json
import lzma
import os
import struct
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LINUX_GUEST = os.path.join(REPO, "tools", "linux-guest", "mkinitramfs.py")

# What each vendor's KVM needs first; dependencies are found, not listed.
VENDOR_MODULES = {"svm": ["kvm_amd"], "vmx": ["kvm_intel"]}

# Applets /init uses; the build fails if one is missing.
NEEDED = "sh awk cat echo grep insmod mount poweroff sleep taskset".split()

INIT = r"""#!/bin/sh
# /init of the KVM peer's initramfs (tools/kvm-peer/mkinitramfs.py).
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

finish() {
	echo "KVM-PEER done rc=$1"
	# poweroff -f does not wait for the serial line to drain: under Bochs
	# the last lines were lost. Idle time is cheap in both emulators.
	sleep 1
	poweroff -f
	# Only when the machine cannot power off: PID 1 must not exit.
	while :; do sleep 3600; done
}

skip() {
	echo "KVM-PEER skip: $*"
	finish 77
}

# "NAME: COUNT" for each interrupt line of CPU $1 in /proc/interrupts.
irq_counts() {
	awk -v col=$(($1 + 2)) '$col ~ /^[0-9]+$/ { print $1, $col }' \
		/proc/interrupts
}

# The total of what changed between two irq_counts files, and by line.
irq_delta() {
	awk 'NR == FNR { before[$1] = $2; next }
	     { d = $2 - before[$1]; if (d) { n += d; by = by " " $1 d } }
	     END { print n + 0 (by ? " (" substr(by, 2) ")" : "") }' "$1" "$2"
}

if grep -qE '^flags.* svm( |$)' /proc/cpuinfo; then
	vendor=svm
	mods="@SVM_MODULES@"
elif grep -qE '^flags.* vmx( |$)' /proc/cpuinfo; then
	vendor=vmx
	mods="@VMX_MODULES@"
else
	skip "the CPU has neither svm nor vmx in /proc/cpuinfo"
fi
[ -n "$mods" ] || skip "this initramfs has no KVM modules for $vendor" \
	"(@MISSING@)"
echo "KVM-PEER vendor=$vendor modules=$mods"
for m in $mods; do
	insmod "/lib/modules/$m.ko" || skip "insmod $m.ko failed"
done
[ -c /dev/kvm ] || skip "no /dev/kvm after loading $mods"

# The vCPU thread runs on the last CPU (the only one, as bench/kvm_peer.py
# boots): a command line with nohz_full= naming it keeps the tick off that
# CPU. An interrupt there that lands in a timed loop counts in its figure:
# "irqs" says how many came during each pass, by /proc/interrupts line.
# The guest runs kvm_peer.passes=N times (default 3), each time in a new
# VM, so that the reader can take each figure's smallest: an interrupt
# only ever adds to a count.
cpus=$(grep -c '^processor' /proc/cpuinfo)
cpu=$((cpus - 1))
passes=3
for word in $(cat /proc/cmdline); do
	case "$word" in
	kvm_peer.passes=*) passes=${word#kvm_peer.passes=} ;;
	esac
done
echo "KVM-PEER cpus=$cpus vcpu-thread-on=$cpu passes=$passes" \
	"nohz_full=$(cat /sys/devices/system/cpu/nohz_full 2>/dev/null)"
rc=0
pass=1
while [ "$pass" -le "$passes" ]; do
	echo "KVM-PEER pass=$pass"
	irq_counts $cpu > /irqs.before
	taskset -c $cpu /kvmexit /exitcost32.bin
	rc=$?
	irq_counts $cpu > /irqs.after
	echo "KVM-PEER irqs=$(irq_delta /irqs.before /irqs.after)"
	[ "$rc" -eq 0 ] || break
	pass=$((pass + 1))
done
finish $rc
"""


def fail(msg):
    sys.exit(f"kvm-peer/mkinitramfs.py: {msg}")


def linux_guest():
    """tools/linux-guest/mkinitramfs.py as a module (its Cpio writer)."""
    spec = importlib.util.spec_from_file_location("linux_guest_initramfs",
                                                  LINUX_GUEST)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ---------------------------------------------------------------- modules

def module_name(path):
    """kernel/arch/x86/kvm/kvm-amd.ko.xz -> kvm_amd (as the kernel names
    it: dashes become underscores)."""
    base = os.path.basename(path)
    for ext in (".ko", ".ko.xz", ".ko.gz", ".ko.zst"):
        if base.endswith(ext):
            return base[:-len(ext)].replace("-", "_")
    return None


def decompress(path, data):
    if path.endswith(".ko.xz"):
        return lzma.decompress(data)
    if path.endswith(".ko.gz"):
        return gzip.decompress(data)
    if path.endswith(".ko.zst"):
        try:
            return subprocess.run(["zstd", "-dc"], input=data, check=True,
                                  capture_output=True).stdout
        except (OSError, subprocess.CalledProcessError) as e:
            fail(f"cannot decompress {path} with zstd: {e} "
                 "(Debian: apt-get install zstd)")
    return data


def modinfo(name, elf):
    """The key=value strings of an ELF64 module's .modinfo section."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2:
        fail(f"{name}: not an ELF64 module")
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3a)

    def section(i):
        # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size
        return struct.unpack_from("<IIQQQQ", elf, shoff + i * shentsize)

    strtab = section(shstrndx)
    for i in range(shnum):
        sh = section(i)
        start = strtab[4] + sh[0]
        if elf[start:elf.index(b"\0", start)] != b".modinfo":
            continue
        raw = elf[sh[4]:sh[4] + sh[5]]
        info = {}
        for item in raw.split(b"\0"):
            key, sep, value = item.decode("utf-8", "replace").partition("=")
            if sep:
                info.setdefault(key, value)
        return info
    fail(f"{name}: no .modinfo section")


def read_modules(deb, release, roots):
    """{name: (path in the package, bytes, [dependencies])} for `roots` and
    everything they depend on; plus the set of names nowhere in the .deb.

    Streams the package's data archive once per round: a round reads every
    wanted module it meets and adds that module's dependencies to the
    wanted set, so a dependency the archive stored before its user takes
    one more round. Two rounds suffice for KVM.
    """
    prefix = f"./lib/modules/{release}/"
    found, absent = {}, set()
    wanted = set(roots)
    while wanted - set(found) - absent:
        seen = set()
        proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb],
                                stdout=subprocess.PIPE)
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for member in tar:
                if not member.isfile() or \
                        not member.name.startswith(prefix):
                    continue
                name = module_name(member.name)
                if name is None:
                    continue
                seen.add(name)
                if name not in wanted or name in found:
                    continue
                path = member.name[len(prefix):]
                data = decompress(path, tar.extractfile(member).read())
                info = modinfo(path, data)
                magic = info.get("vermagic", "").split(" ")[0]
                if magic != release:
                    fail(f"{path} in {deb} is for {magic!r}, not {release}")
                deps = [d.replace("-", "_") for d in
                        info.get("depends", "").split(",") if d]
                found[name] = (path, data, deps)
                wanted.update(deps)
        proc.stdout.close()
        if proc.wait() != 0:
            fail(f"dpkg-deb --fsys-tarfile {deb} failed "
                 f"(status {proc.returncode})")
        absent |= (wanted - set(found)) - seen
    return found, absent


def load_order(root, found):
    """Dependencies first (depth first), each module once; None when one
    of them is missing."""
    order = []

    def visit(name, trail):
        if name in order:
            return True
        if name not in found or name in trail:
            return False
        if not all(visit(d, trail + [name]) for d in found[name][2]):
            return False
        order.append(name)
        return True

    return order if visit(root, []) else None


def find_deb(linux_dir, release, spare_dir):
    """The kernel's .deb that fetch-kernel.sh left in LINUX_DIR; else one
    fetched here into spare_dir with `apt-get download` (no root)."""
    pkg = f"linux-image-{release}"
    for d in (linux_dir, spare_dir):
        debs = sorted(glob.glob(os.path.join(d, f"{pkg}_*.deb")))
        if debs:
            return debs[-1]
    os.makedirs(spare_dir, exist_ok=True)
    print(f"kvm-peer/mkinitramfs.py: no {pkg} .deb in {linux_dir}; "
          f"downloading it into {spare_dir}", file=sys.stderr)
    try:
        subprocess.run(["apt-get", "download", pkg], cwd=spare_dir,
                       check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        fail(f"'apt-get download {pkg}' failed: {e}")
    debs = sorted(glob.glob(os.path.join(spare_dir, f"{pkg}_*.deb")))
    if not debs:
        fail(f"apt-get download left no {pkg}_*.deb in {spare_dir}")
    return debs[-1]


# ---------------------------------------------------------------- archive

def read_file(path, what):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        fail(f"{what}: {e}")


def check_busybox(lg, busybox):
    binary = read_file(busybox, "busybox (Debian: apt-get install "
                       "busybox-static)")
    if b"\0/lib64/ld-linux" in binary or b"\0/lib/ld-linux" in binary:
        fail(f"{busybox} is dynamically linked; use busybox-static")
    names = lg.applets(busybox)
    missing = [a for a in NEEDED if a not in names]
    if missing:
        fail(f"{busybox} lacks applets: {' '.join(missing)}")
    return binary, names


def init_script(orders, missing):
    why = "; ".join(f"{v}: {', '.join(sorted(m))} not in the kernel package"
                    for v, m in sorted(missing.items())) or "none missing"
    return (INIT.replace("@SVM_MODULES@", " ".join(orders.get("svm") or []))
            .replace("@VMX_MODULES@", " ".join(orders.get("vmx") or []))
            .replace("@MISSING@", why))


def build(args):
    lg = linux_guest()
    busybox, applets = check_busybox(lg, args.busybox)
    release = read_file(os.path.join(args.linux_dir, "version"),
                        "the kernel's release (run `make linux-guest`)"
                        ).decode().strip()
    kvmexit = read_file(args.kvmexit, "kvmexit")
    guest = read_file(args.guest, "the exit-cost guest")
    deb = find_deb(args.linux_dir, release,
                   os.path.dirname(os.path.abspath(args.output)))
    roots = [m for mods in VENDOR_MODULES.values() for m in mods]
    found, absent = read_modules(deb, release, roots)

    orders, missing = {}, {}
    for vendor, mods in VENDOR_MODULES.items():
        order = []
        for m in mods:
            o = load_order(m, found)
            if o is None:
                missing[vendor] = {m} | (absent & _closure(m, found))
                order = None
                break
            order += [x for x in o if x not in order]
        orders[vendor] = order
    for vendor, m in missing.items():
        print(f"kvm-peer/mkinitramfs.py: warning: no KVM for {vendor}: "
              f"{', '.join(sorted(m))} missing from {deb}", file=sys.stderr)

    c = lg.Cpio()
    for d in ("bin", "dev", "proc", "sys", "lib", "lib/modules"):
        c.dir(d)
    # The kernel opens /dev/console for PID 1 before /init mounts devtmpfs.
    c.chardev("dev/console", 5, 1)
    c.file("bin/busybox", busybox, 0o755)
    for a in applets:
        c.link(f"bin/{a}", "busybox")
    c.file("init", init_script(orders, missing).encode(), 0o755)
    c.file("kvmexit", kvmexit, 0o755)
    c.file("exitcost32.bin", guest)
    used = sorted({m for o in orders.values() if o for m in o})
    for m in used:
        c.file(f"lib/modules/{m}.ko", found[m][1])
    manifest = {"release": release, "deb": os.path.basename(deb),
                "modules": {m: found[m][0] for m in used},
                "load_order": {v: o for v, o in orders.items() if o},
                "missing": {v: sorted(m) for v, m in missing.items()}}
    return c.finish(), manifest


def _closure(root, found):
    """root and every name it reaches through modules that were found."""
    seen, todo = set(), [root]
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        todo += found[n][2] if n in found else []
    return seen


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def manifest_path(output):
    base = output[:-len(".cpio.gz")] if output.endswith(".cpio.gz") \
        else output
    return base + ".json"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("output")
    p.add_argument("--kvmexit", required=True)
    p.add_argument("--guest", required=True)
    p.add_argument("--linux-dir", default=os.path.join(REPO, "build",
                                                       "linux"))
    p.add_argument("--busybox", default="/bin/busybox")
    args = p.parse_args()
    archive, manifest = build(args)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    # The manifest first: the archive's date is what make compares.
    write_atomic(manifest_path(args.output),
                 (json.dumps(manifest, indent=2) + "\n").encode())
    write_atomic(args.output, gzip.compress(archive, compresslevel=9,
                                            mtime=0))


if __name__ == "__main__":
    main()
