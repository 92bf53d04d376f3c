#!/usr/bin/python3
"""Build the Linux guest's initramfs: busybox, init scripts, an IPI test.

    tools/linux-guest/mkinitramfs.py OUTPUT.cpio.gz [--busybox PATH]

Writes a gzip'd newc cpio archive (the format the kernel unpacks) in
Python, so no cpio binary is needed and the archive can hold root-owned
files and a device node without root. Timestamps are 0: the same busybox
gives the same bytes.

PID 1 is busybox init (/init is a link to busybox): `poweroff` signals
PID 1, which runs the ::shutdown: entries and then powers off.
rcS mounts proc, sysfs and devtmpfs and prints one line that tests wait for:

    LAMINA-LINUX-READY <uname -r> cpus=<processors in /proc/cpuinfo>

With `lamina.ipi_test=DEST` on the kernel command line it then runs
/bin/lamina-ipi-test DEST (ipi-test.c, compiled here with gcc -static),
which sends an INIT IPI to APIC ID DEST through the xAPIC ICR and prints
`LAMINA-IPI-TEST sent INIT to apic DEST`. It needs `iomem=relaxed` on the
command line too (ipi-test.c says why); without it the line reads
`LAMINA-IPI-TEST failed: ...`.

The shell's prompt is PROMPT below.
"""

import argparse
import gzip
import os
import stat
import subprocess
import sys
import tempfile

PROMPT = "lamina-guest# "
HERE = os.path.dirname(os.path.abspath(__file__))

# Applets the scripts and the tests use; the build fails if one is missing
# rather than the guest failing at run time. Every other applet of the
# binary is linked too, for use at the shell.
NEEDED = ("sh cat cttyhack devmem dmesg echo grep init ls mkdir mount "
          "poweroff reboot setsid sleep umount uname").split()

INITTAB = """\
::sysinit:/etc/init.d/rcS
::respawn:/bin/cttyhack /bin/sh -l
::ctrlaltdel:/bin/reboot
::shutdown:/bin/sync
::shutdown:/bin/umount -a -r
"""

# The marker goes out as one echo so it is one write(); kernel messages can
# still land in the middle of it on a shared serial line unless the command
# line has `quiet`.
RCS = r"""#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "LAMINA-LINUX-READY $(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo)"

dest=
for word in $(cat /proc/cmdline); do
	case "$word" in
	lamina.ipi_test=*) dest=${word#lamina.ipi_test=} ;;
	esac
done
if [ -n "$dest" ]; then
	/bin/lamina-ipi-test "$dest"
fi
"""

PROFILE = f"""export PATH=/bin
export PS1='{PROMPT}'
"""


class Cpio:
    """newc writer: 110-byte ASCII header, name, data, each 4-byte aligned."""

    def __init__(self):
        self.out = bytearray()
        self.ino = 0

    def entry(self, name, mode, data=b"", rdev=(0, 0)):
        self.ino += 1
        name_b = name.encode() + b"\0"
        fields = (self.ino, mode, 0, 0, 1, 0, len(data), 0, 0,
                  rdev[0], rdev[1], len(name_b), 0)
        self.out += b"070701" + b"".join(b"%08X" % f for f in fields)
        self.out += name_b
        self._pad()
        self.out += data
        self._pad()

    def _pad(self):
        self.out += b"\0" * (-len(self.out) % 4)

    def dir(self, name):
        self.entry(name, stat.S_IFDIR | 0o755)

    def file(self, name, data, perm=0o644):
        self.entry(name, stat.S_IFREG | perm, data)

    def link(self, name, target):
        self.entry(name, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, name, major, minor, perm=0o600):
        self.entry(name, stat.S_IFCHR | perm, rdev=(major, minor))

    def finish(self):
        self.entry("TRAILER!!!", 0)
        return bytes(self.out)


def applets(busybox):
    try:
        out = subprocess.run([busybox, "--list"], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"mkinitramfs.py: cannot run {busybox} --list: {e}\n"
                 "  (Debian: apt-get install busybox-static)")
    names = set(out.split())
    missing = [a for a in NEEDED if a not in names]
    if missing:
        sys.exit(f"mkinitramfs.py: {busybox} lacks applets: "
                 f"{' '.join(missing)}")
    return sorted(names - {"busybox"})


def ipi_test():
    src = os.path.join(HERE, "ipi-test.c")
    cc = os.environ.get("CC", "gcc")
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "lamina-ipi-test")
        try:
            subprocess.run([cc, "-static", "-Os", "-s", "-Wall", "-Wextra",
                            "-Werror", src, "-o", exe], check=True)
        except (OSError, subprocess.CalledProcessError) as e:
            sys.exit(f"mkinitramfs.py: cannot build {src}: {e}")
        with open(exe, "rb") as f:
            return f.read()


def build(busybox):
    try:
        with open(busybox, "rb") as f:
            binary = f.read()
    except OSError as e:
        sys.exit(f"mkinitramfs.py: {e}\n  (Debian: apt-get install "
                 "busybox-static)")
    # The guest has no libc: a dynamic busybox would not start as PID 1.
    if b"\0/lib64/ld-linux" in binary or b"\0/lib/ld-linux" in binary:
        sys.exit(f"mkinitramfs.py: {busybox} is dynamically linked; "
                 "use busybox-static")
    c = Cpio()
    for d in ("bin", "dev", "etc", "etc/init.d", "proc", "sys", "tmp",
              "root"):
        c.dir(d)
    # The kernel opens /dev/console for PID 1 before rcS mounts devtmpfs.
    c.chardev("dev/console", 5, 1)
    c.file("bin/busybox", binary, 0o755)
    for a in applets(busybox):
        c.link(f"bin/{a}", "busybox")
    c.file("bin/lamina-ipi-test", ipi_test(), 0o755)
    c.link("init", "bin/busybox")
    c.file("etc/inittab", INITTAB.encode())
    c.file("etc/init.d/rcS", RCS.encode(), 0o755)
    c.file("etc/profile", PROFILE.encode())
    return c.finish()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("output")
    p.add_argument("--busybox", default="/bin/busybox")
    args = p.parse_args()
    data = gzip.compress(build(args.busybox), compresslevel=9, mtime=0)
    tmp = args.output + ".tmp"
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, args.output)


if __name__ == "__main__":
    main()
