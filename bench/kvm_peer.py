#!/usr/bin/python3
"""Linux KVM's exit costs, in instructions: the peer Lamina's are held to.

The guest of bench/exit_cost.py (tests/guests/exitcost32.asm) run under
Linux KVM instead of Lamina: Debian's kernel (build/linux/bzImage) boots
in the emulator with the initramfs of `make kvm-peer`
(build/kvm-peer/initramfs.cpio.gz, tools/kvm-peer/), which loads KVM and
runs the guest with tools/kvm-peer/kvmexit.c. The guest reads RDTSC around
1000 exits of each kind and around the same loop without them; the TSC
counts one per instruction in both setups (shared/PLATFORM.md), so
(with - base) / 1000 is the exact number of instructions KVM runs per
round trip, exactly as bench/exit_cost.py measures Lamina's.

An interrupt that Linux takes inside a timed loop (its tick) counts in
that loop's figure. So each boot runs the guest several times (--passes,
each time in a new VM) and a figure is the smallest of its passes: an
interrupt only ever adds. The output lists every pass and the interrupts
the vCPU's CPU took during it.

  kvm-qemu-svm   QEMU TCG -cpu qemu64,+svm,+npt -icount shift=0, the
                 kernel booted with -kernel/-initrd: KVM on SVM (no NRIPS,
                 no decode assists: QEMU offers neither)
  kvm-bochs-vmx  Bochs, the cpu model and clock of emu.py's bochs-vmx
                 setup (corei7_skylake_x), but one CPU and 1e9 instructions
                 an emulated second (BOCHS_SETUP below says why), the
                 kernel booted from a GRUB image: KVM on VMX

    bench/kvm_peer.py [--runs N] [--passes P] [--only svm|vmx] [--short]
                      [--append WORDS]

--runs N: boots per setup (default 1: the counts are exact; 2 checks it).
--passes P: guest runs per boot (default 3).
--short: one boot, SVM only (the test suite's check, a quarter minute).
--append WORDS: more kernel command-line words (e.g. mitigations=off).

Writes build/bench/kvm_peer.{json,txt}: figures kvm.exit.<kind>
(instructions, exact) and kvm.boot.wall (seconds from the emulator's
start to the last line, on this host) per setup. Serial logs and emulator
files stay in build/bench/kvm-peer-<setup>/. A missing emulator, GRUB, or
kernel is a SKIP (exit status 0); a missing build/kvm-peer/ output is an
error: `make kvm-peer` makes it.
"""

import argparse
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402
from benchlib import REPO, OUT, emu  # noqa: E402

BUILD = os.path.join(REPO, "build")
BZIMAGE = os.path.join(BUILD, "linux", "bzImage")
PEER = os.path.join(BUILD, "kvm-peer")
INITRD = os.path.join(PEER, "initramfs.cpio.gz")
# Written beside the initramfs by tools/kvm-peer/mkinitramfs.py.
MANIFEST = os.path.join(PEER, "initramfs.json")
KVMEXIT = os.path.join(PEER, "kvmexit")
GUEST = os.path.join(BUILD, "guests", "exitcost32.bin")
ISO = os.path.join(PEER, "bochs-vmx.iso")

KINDS = ("cpuid", "io", "msr", "hypercall", "npf")
N = 1000  # exits per loop: the guest's contract

# The initramfs's /init ends with one of these (tools/kvm-peer/mkinitramfs.py).
DONE_RE = re.compile(r"KVM-PEER done rc=(\d+)")
SKIP_RE = re.compile(r"KVM-PEER skip: ([^\r\n]*)")
PASS_RE = re.compile(r"KVM-PEER pass=\d+")
IRQS_RE = re.compile(r"KVM-PEER irqs=(-?\d+)([^\r\n]*)")
EXITCOST_RE = re.compile(r"EXITCOST (\w+) (\d+) (\d+)")

# Both: nothing but warnings on the console; a fixed kernel address (with
# KASLR the counts moved by one or two between boots).
CMDLINE = "console=ttyS0 loglevel=4 nokaslr"
# Bochs' CPUID 0x15/0x16 claim 3.5 GHz while its TSC and LAPIC timer count
# instructions (PLATFORM.md): with its LAPIC timer, Linux took interrupts
# inside every timed loop (cpuid 1115 where the clean count is 1053). The
# PIT keeps time right.
BOCHS_CMDLINE = CMDLINE + " nolapic_timer"
GRUB_CFG = """\
set timeout=0
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
menuentry "kvm-peer" {{
	linux /boot/bzImage {cmdline}
	initrd /boot/initramfs.cpio.gz
}}
"""


class Skip(Exception):
    """A prerequisite that `make kvm-peer` does not build is missing."""


class RunError(Exception):
    """A boot did not give the figures."""


@dataclasses.dataclass(frozen=True)
class Peer:
    vendor: str         # "svm" or "vmx": what KVM drives
    setup: str          # the figures' setup name
    limit_s: int        # time limit of one boot, generous on 2 cores
    what: str


PEERS = {p.vendor: p for p in (
    # About 15 s here.
    Peer("svm", "kvm-qemu-svm", 300,
         "QEMU TCG qemu64,+svm,+npt, -icount shift=0, 1 CPU, 512 MiB, "
         "-kernel"),
    # About 2 minutes here.
    Peer("vmx", "kvm-bochs-vmx", 900,
         "Bochs corei7_skylake_x (as emu.py's bochs-vmx), 1 CPU at "
         "ips=1e9, 256 MiB, GRUB image"),
)}

# emu.py's bochs-vmx, whose figures these compare with: the same cpu model
# and no clock line (Bochs' default, sync=none: the TSC counts
# instructions). Two things differ, both so that Linux's 250 Hz tick stays
# out of the timed loops, as it does on real hardware and under QEMU:
#  - ips, the instructions in an emulated second: 10 million there, so a
#    tick every 40,000 instructions, some 30 ticks in a loop of 1000 CPUID
#    exits (measured: cpuid 1221 instead of 1053). At 1e9 an instruction is
#    an emulated nanosecond, as under QEMU's -icount shift=0, and a tick
#    comes every 4 million instructions. (Boot time did not change.)
#  - one CPU, not two. The other way out of the tick, a second CPU given
#    to the vCPU with nohz_full=, made every round trip dearer (measured:
#    cpuid 1299, hypercall 1290; nohz_full turns on the kernel's context
#    tracking at each guest entry and exit), and a second Bochs CPU made
#    the boot half as fast.
# Less memory than emu.py's Linux setups: the guest needs 8 MiB.
BOCHS_SETUP = dataclasses.replace(
    emu.SETUPS["bochs-vmx"], name="kvm-bochs-vmx", cpus=1, mem_mib=256,
    bochs_ips=1_000_000_000, boot_timeout=PEERS["vmx"].limit_s,
    what="Linux KVM on Bochs VMX (bench/kvm_peer.py)")


# ---------------------------------------------------------------- checks

def check_built():
    """What `make kvm-peer` builds: its absence is an error, not a skip."""
    if not os.path.exists(BZIMAGE):
        raise Skip(f"no kernel at {rel(BZIMAGE)} (`make linux-guest` "
                   "fetches Debian's; it needs the network once)")
    for path in (KVMEXIT, INITRD, MANIFEST):
        if not os.path.exists(path):
            sys.exit(f"kvm_peer.py: {rel(path)} not found: run `make "
                     "kvm-peer`")
    stale = [p for p in (KVMEXIT, GUEST, BZIMAGE)
             if os.path.exists(p) and
             os.path.getmtime(p) > os.path.getmtime(INITRD)]
    if stale:
        sys.exit(f"kvm_peer.py: {rel(INITRD)} is older than "
                 f"{', '.join(rel(p) for p in stale)}: run `make kvm-peer`")


def check_vendor(peer):
    """Raise Skip naming what this vendor's run lacks."""
    with open(MANIFEST) as f:
        missing = json.load(f).get("missing", {}).get(peer.vendor)
    if missing:
        raise Skip(f"the kernel package has no {', '.join(missing)}, so "
                   f"no KVM for {peer.vendor} ({rel(MANIFEST)})")
    try:
        if peer.vendor == "svm":
            if not shutil.which(emu.QEMU):
                raise emu.MissingDependency(emu.QEMU, "qemu-system-x86")
        else:
            emu.check_available(BOCHS_SETUP)
    except emu.MissingDependency as e:
        raise Skip(str(e)) from None
    if peer.vendor == "vmx":
        for tool, package in (("grub-mkrescue", "grub-common"),
                              ("xorriso", "xorriso"), ("mformat", "mtools")):
            if not shutil.which(tool):
                raise Skip(f"{tool} not found (apt-get install {package}); "
                           "Bochs boots Linux from a GRUB image")
        if not os.path.isdir("/usr/lib/grub/i386-pc"):
            raise Skip("GRUB for BIOS not installed (apt-get install "
                       "grub-pc-bin); Bochs boots Linux from a GRUB image")


def rel(path):
    return os.path.relpath(path, REPO)


# ---------------------------------------------------------------- runs

def logdir(peer):
    return os.path.join(OUT, f"kvm-peer-{peer.setup}")


def kernel_cmdline(peer, passes, append=""):
    """The command line; kvm_peer.passes= tells /init how many times to run
    the guest."""
    return " ".join([CMDLINE if peer.vendor == "svm" else BOCHS_CMDLINE,
                     f"kvm_peer.passes={passes}"] + append.split())


def qemu_argv(serial_log, cmdline):
    return [emu.QEMU, "-name", "kvm-peer", "-machine", "pc",
            "-accel", "tcg", "-cpu", "qemu64,+svm,+npt",
            "-icount", "shift=0", "-smp", "1", "-m", "512",
            "-kernel", BZIMAGE, "-initrd", INITRD, "-append", cmdline,
            "-serial", f"file:{serial_log}", "-display", "none",
            "-monitor", "none", "-no-reboot", "-nic", "none"]


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def kill_group(proc):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            break
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            pass


def run_qemu(peer, run, cmdline):
    """One QEMU boot: (serial text, seconds to the last line)."""
    d = logdir(peer)
    os.makedirs(d, exist_ok=True)
    log = os.path.join(d, f"serial-{run}.log")
    if os.path.exists(log):
        os.unlink(log)
    argv = qemu_argv(log, cmdline)
    with open(os.path.join(d, "command"), "w") as f:
        f.write(" ".join(argv) + "\n")
    start = time.monotonic()
    with open(os.path.join(d, f"qemu-{run}.log"), "wb") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        while True:
            text = read(log)
            if DONE_RE.search(text) or SKIP_RE.search(text):
                took = time.monotonic() - start
                # poweroff -f follows at once; QEMU exits on its own.
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    pass
                return read(log), took
            if proc.poll() is not None:
                raise RunError(f"{peer.setup}: QEMU exited with status "
                               f"{proc.returncode} before the last line; "
                               f"serial log {rel(log)}, QEMU's "
                               f"{rel(os.path.join(d, f'qemu-{run}.log'))}")
            if time.monotonic() - start > peer.limit_s:
                raise RunError(f"{peer.setup}: time limit of "
                               f"{peer.limit_s} s ran out (QEMU booting "
                               f"Linux to KVM-PEER done); serial log "
                               f"{rel(log)}")
            time.sleep(0.2)
    finally:
        kill_group(proc)


def make_iso(cmdline):
    """A GRUB image of the kernel and initramfs, as tools/mkiso.sh makes
    Lamina's (the same modules, locales, fonts and themes left out)."""
    os.makedirs(PEER, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=PEER) as tmp:
        root = os.path.join(tmp, "root")
        os.makedirs(os.path.join(root, "boot", "grub"))
        shutil.copyfile(BZIMAGE, os.path.join(root, "boot", "bzImage"))
        shutil.copyfile(INITRD, os.path.join(root, "boot",
                                             "initramfs.cpio.gz"))
        with open(os.path.join(root, "boot", "grub", "grub.cfg"), "w") as f:
            f.write(GRUB_CFG.format(cmdline=cmdline))
        out = subprocess.run(
            ["grub-mkrescue", "-o", ISO + ".tmp", root,
             "--install-modules=linux normal serial terminal",
             "--locales=", "--fonts=", "--themes="],
            capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"kvm_peer.py: grub-mkrescue failed:\n{out.stdout}"
                     f"{out.stderr}")
    os.replace(ISO + ".tmp", ISO)


def run_bochs(peer, run):
    """One Bochs boot: (serial text, seconds to the last line)."""
    d = os.path.join(logdir(peer), f"run-{run}")
    m = emu.start(BOCHS_SETUP, ISO, d)
    try:
        m.expect([DONE_RE, SKIP_RE], peer.limit_s)
        took = time.monotonic() - m.started
        return m.transcript.text(), took
    except emu.Timeout:
        raise RunError(f"{peer.setup}: time limit of {peer.limit_s} s ran "
                       "out (Bochs booting Linux to KVM-PEER done); serial "
                       f"log {rel(m.serial_log)}, Bochs' "
                       f"{rel(m.emulator_log)}") from None
    except emu.EmuError as e:
        raise RunError(f"{peer.setup}: {str(e).splitlines()[0]}; serial "
                       f"log {rel(m.serial_log)}, Bochs' "
                       f"{rel(m.emulator_log)}") from None
    finally:
        m.stop()


def parse(peer, text, where):
    """[({kind: instructions per round trip}, interrupts meanwhile)], one
    per pass of the guest in this boot."""
    skip = SKIP_RE.search(text)
    if skip:
        raise RunError(f"{peer.setup}: the guest kernel says: "
                       f"{skip.group(1).strip()}; serial log {where}")
    done = DONE_RE.search(text)
    if not done or done.group(1) != "0":
        raise RunError(f"{peer.setup}: kvmexit failed (rc="
                       f"{done.group(1) if done else '?'}); its error is "
                       f"in the serial log {where}")
    passes = []
    for part in PASS_RE.split(text)[1:]:
        got = {k: round((int(a) - int(b)) / N, 3)
               for k, a, b in EXITCOST_RE.findall(part)}
        missing = [k for k in KINDS if k not in got]
        if missing or "EXITCOST end" not in part:
            raise RunError(f"{peer.setup}: pass {len(passes) + 1} gave no "
                           f"figure for {', '.join(missing) or 'end'}; "
                           f"serial log {where}")
        irqs = IRQS_RE.search(part)
        passes.append((got, (irqs.group(1) + irqs.group(2)).strip()
                       if irqs else None))
    if not passes:
        raise RunError(f"{peer.setup}: the guest never ran; serial log "
                       f"{where}")
    return passes


def measure(peer, boots, cmdline):
    """[(figures, passes, boot seconds)] for `boots` boots; a figure is
    the smallest of the boot's passes (an interrupt only ever adds)."""
    results = []
    for boot in range(boots):
        if peer.vendor == "svm":
            text, took = run_qemu(peer, boot, cmdline)
            where = rel(os.path.join(logdir(peer), f"serial-{boot}.log"))
        else:
            text, took = run_bochs(peer, boot)
            where = rel(os.path.join(logdir(peer), f"run-{boot}",
                                     "serial.log"))
        passes = parse(peer, text, where)
        got = {k: min(p[0][k] for p in passes) for k in KINDS}
        print(f"{peer.setup} boot {boot}: {took:.1f} s; " +
              " ".join(f"{k} {got[k]:g}" for k in KINDS), flush=True)
        for i, (p, irqs) in enumerate(passes):
            print(f"  pass {i + 1}: " +
                  " ".join(f"{k} {p[k]:g}" for k in KINDS) +
                  f"; interrupts on the vCPU's CPU {irqs}", flush=True)
        results.append((got, passes, took))
    return results


# ---------------------------------------------------------------- results

def figures_of(peer, results):
    figs = []
    for k in KINDS:
        vals = [r[0][k] for r in results]
        figs.append(benchlib.figure(
            f"kvm.exit.{k}", vals, "instructions", setup=peer.setup,
            exact=True, backing_="emulated", vendor_=peer.vendor,
            note=None if len(set(vals)) == 1 else
            f"boots differ: {', '.join(f'{v:g}' for v in vals)}"))
    figs.append(benchlib.figure(
        "kvm.boot.wall", [round(r[2], 1) for r in results], "s",
        setup=peer.setup, backing_="emulated", vendor_=peer.vendor,
        note="emulator start to KVM-PEER done, on this host"))
    return figs


def cell(f, fmt="g"):
    """One value, or lo-hi where the boots differ."""
    lo, hi = f"{f['min']:{fmt}}", f"{f['max']:{fmt}}"
    return lo if lo == hi else f"{lo}-{hi}"


def table(done, skipped, extra):
    cols = list(done)
    w = 20
    lines = ["Linux KVM (Debian's kernel in the emulator), instructions "
             "per exit round trip (lo-hi where boots differ)",
             f"{'kind':10}" + "".join(f"{PEERS[v].setup:>{w}}"
                                      for v in cols)]
    for k in KINDS:
        lines.append(f"{k:10}" + "".join(
            f"{cell(_fig(done[v], 'kvm.exit.' + k)):>{w}}" for v in cols))
    lines.append(f"{'boot (s)':10}" + "".join(
        f"{cell(_fig(done[v], 'kvm.boot.wall'), '.1f'):>{w}}"
        for v in cols))
    for v in cols:
        e = extra[PEERS[v].setup]
        lines.append(f"{PEERS[v].setup}: {PEERS[v].what}; command line "
                     f"'{e['cmdline']}'")
    for v, why in skipped.items():
        lines.append(f"{PEERS[v].setup}: SKIP: {why}")
    return "\n".join(lines)


def _fig(figs, name):
    return next(f for f in figs if f["name"] == name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1,
                    help="boots per setup (default 1: exact counts; 2 "
                    "checks they repeat)")
    ap.add_argument("--only", choices=sorted(PEERS))
    ap.add_argument("--short", action="store_true",
                    help="one boot, SVM only (the test suite's run)")
    ap.add_argument("--passes", type=int, default=3,
                    help="guest runs per boot, each figure the smallest "
                    "(default 3)")
    ap.add_argument("--append", default="",
                    help="more kernel command-line words (e.g. "
                    "mitigations=off)")
    args = ap.parse_args()
    if args.runs < 1 or args.passes < 1:
        ap.error("--runs and --passes must be at least 1")
    vendors = ["svm"] if args.short else \
        [args.only] if args.only else list(PEERS)
    runs = 1 if args.short else args.runs
    try:
        check_built()
    except Skip as e:
        print(f"SKIP kvm_peer: {e}")
        return 0
    done, skipped, figures, extra = {}, {}, [], {}
    for v in vendors:
        peer = PEERS[v]
        try:
            check_vendor(peer)
        except Skip as e:
            print(f"SKIP {peer.setup}: {e}", flush=True)
            skipped[v] = str(e)
            continue
        if v == "vmx":
            make_iso(kernel_cmdline(peer, args.passes, args.append))
        try:
            results = measure(peer, runs, kernel_cmdline(
                peer, args.passes, args.append))
        except RunError as e:
            print(f"kvm_peer.py: {e}", file=sys.stderr)
            return 1
        done[v] = figures_of(peer, results)
        figures += done[v]
        extra[peer.setup] = {
            "what": peer.what,
            "cmdline": kernel_cmdline(peer, args.passes, args.append),
            "passes": [[{"figures": p, "irqs": irqs} for p, irqs in r[1]]
                       for r in results],
            "logs": rel(logdir(peer))}
    if not done:
        print("SKIP kvm_peer: no setup could run")
        return 0
    text = table(done, skipped, extra)
    benchlib.save("kvm_peer", figures, text, setups=extra, skipped=skipped)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
