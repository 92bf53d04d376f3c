#!/usr/bin/python3
"""Linux guest boot time with no hypervisor: the baseline for Lamina's.

Boots build/linux/bzImage with build/linux/initramfs.cpio.gz directly in
QEMU TCG (`make linux-guest` builds both) and times, at the host, from
QEMU's start to the initramfs's marker line "LAMINA-LINUX-READY ...".
Each run then checks the shell answers and powers off through busybox
(QEMU's ACPI), so a run also shows the guest image is sound.

    bench/linux_direct.py [--runs N] [--smp N] [--append WORDS]
    (default: 3 runs, 1 CPU)

Writes build/bench/linux_direct.{json,txt}, with "figures"
(bench/benchlib.py): linux_direct.start_to_marker_s and
linux_direct.poweroff_s (setup "qemu-tcg-direct", emulated); the serial log
of each run stays in build/test-logs/bench-linux-direct/. TCG on a shared
host is noisy: the spread says how much.
"""

import argparse
import os
import statistics
import sys
import time

import pexpect

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402

REPO = os.path.dirname(HERE)
LINUX = os.path.join(REPO, "build", "linux")
BZIMAGE = os.path.join(LINUX, "bzImage")
INITRD = os.path.join(LINUX, "initramfs.cpio.gz")
OUT = os.path.join(REPO, "build", "bench")
LOGS = os.path.join(REPO, "build", "test-logs", "bench-linux-direct")
MARKER = r"LAMINA-LINUX-READY (\S+) cpus=(\d+)"
SETUP = "qemu-tcg-direct"  # a figure's setup: not one of tools/emu.py's
PROMPT = "lamina-guest# "  # tools/linux-guest/mkinitramfs.py
BOOT_TIMEOUT = 300  # TCG on a loaded host; a normal boot takes seconds
SHELL_TIMEOUT = 30
POWEROFF_TIMEOUT = 60


def qemu_argv(smp, append):
    return ["-machine", "pc", "-accel", "tcg", "-cpu", "qemu64",
            "-smp", str(smp), "-m", "512", "-nographic", "-no-reboot",
            "-kernel", BZIMAGE, "-initrd", INITRD,
            "-append", " ".join(["console=ttyS0"] + append)]


def one_run(i, smp, append):
    log = open(os.path.join(LOGS, f"run{i}.log"), "w")
    start = time.monotonic()
    child = pexpect.spawn("qemu-system-x86_64", qemu_argv(smp, append),
                          encoding="utf-8", codec_errors="replace")
    child.logfile_read = log
    try:
        child.expect(MARKER, BOOT_TIMEOUT)
        boot_s = time.monotonic() - start
        release, cpus = child.match.group(1), int(child.match.group(2))
        child.expect(PROMPT, SHELL_TIMEOUT)
        # The shell's answer, not the echo of the command, which has no
        # digit at the start of a line.
        child.sendline("grep -c processor /proc/cpuinfo")
        child.expect(r"\n(\d+)\r", SHELL_TIMEOUT)
        if int(child.match.group(1)) != smp or cpus != smp:
            raise RuntimeError(f"guest sees {cpus} CPUs, QEMU has {smp}")
        off = time.monotonic()
        child.sendline("poweroff")
        child.expect(pexpect.EOF, POWEROFF_TIMEOUT)
        poweroff_s = time.monotonic() - off
    except (pexpect.TIMEOUT, pexpect.EOF) as e:
        what = "timed out" if isinstance(e, pexpect.TIMEOUT) else "QEMU exited"
        sys.exit(f"linux_direct.py: run {i} {what}; serial log: {log.name}")
    finally:
        child.close(force=True)
        log.close()
    return {"boot_s": round(boot_s, 3), "poweroff_s": round(poweroff_s, 3),
            "release": release, "cpus": cpus}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--smp", type=int, default=1)
    p.add_argument("--append", default="",
                   help="more kernel command-line words (e.g. quiet)")
    args = p.parse_args()
    for f in (BZIMAGE, INITRD):
        if not os.path.exists(f):
            sys.exit(f"linux_direct.py: no {f}: run `make linux-guest`")
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(LOGS, exist_ok=True)
    append = args.append.split()
    runs = []
    for i in range(args.runs):
        r = one_run(i, args.smp, append)
        print(f"run {i}: marker after {r['boot_s']:.2f} s, "
              f"poweroff {r['poweroff_s']:.2f} s", flush=True)
        runs.append(r)
    boots = [r["boot_s"] for r in runs]
    result = {"kernel": runs[0]["release"], "smp": args.smp,
              "cmdline": " ".join(qemu_argv(args.smp, append)[-1:]),
              "runs": runs, "median_s": statistics.median(boots),
              "min_s": min(boots), "max_s": max(boots)}
    text = (f"Linux {result['kernel']}, {args.smp} CPU(s), QEMU TCG, no "
            f"hypervisor: marker after {result['median_s']:.2f} s median "
            f"(min {result['min_s']:.2f}, max {result['max_s']:.2f}, "
            f"{args.runs} runs)")
    figures = [
        benchlib.figure("linux_direct.start_to_marker_s", boots, "s", SETUP,
                        backing_="emulated",
                        note=f"QEMU TCG, {args.smp} CPU(s), SeaBIOS "
                             "included"),
        benchlib.figure("linux_direct.poweroff_s",
                        [r["poweroff_s"] for r in runs], "s", SETUP,
                        backing_="emulated"),
    ]
    benchlib.save("linux_direct", figures, text, **result)
    print(text)


if __name__ == "__main__":
    main()
