#!/usr/bin/python3
"""Host CPU an idle Lamina takes: the emulator's CPU time at the prompt.

Boots the test image (tests/configs/boot-default.yaml: VMs that start only
when asked) in qemu-bios, waits at the `lamina>` prompt, and reads QEMU's
CPU time (/proc/PID/stat, every thread) over a window: host CPUs in use
while Lamina does nothing. The monitor sleeps between looks at its UART
when no vCPU shares the boot CPU (kernel/monitor/monitor.c); before it did,
this was 1.00, a whole host CPU.

    bench/idle_cpu.py [--runs N] [--window S]   (default 3 runs of 10 s)

Needs `make all`. Writes build/bench/idle_cpu.{json,txt}.
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402
from benchlib import emu  # noqa: E402
import run as boot_bench  # noqa: E402  (the image with the test config)

SETUP = "qemu-bios"


def cpu_s(pid):
    """User plus system CPU seconds of process `pid`, all its threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_share(iso, window, i):
    """Host CPUs QEMU used over `window` seconds at the prompt."""
    m = emu.start(SETUP, iso, logdir=os.path.join(benchlib.OUT,
                                                  f"idle-cpu-{i}"))
    try:
        m.expect(emu.PROMPT, timeout=m.setup.boot_timeout)
        time.sleep(1)  # the prompt's own output drained
        a, t0 = cpu_s(m.proc.pid), time.monotonic()
        time.sleep(window)
        b, t1 = cpu_s(m.proc.pid), time.monotonic()
        m.sendline("version")  # and it still answers
        m.expect(r"monitor protocol", timeout=20)
        return (b - a) / (t1 - t0)
    finally:
        m.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--window", type=float, default=10.0)
    args = ap.parse_args()
    iso = boot_bench.make_image(boot_bench.CONFIG)
    vals = [round(idle_share(iso, args.window, i), 3)
            for i in range(args.runs)]
    f = benchlib.figure("idle.host_cpus_at_prompt", vals, "CPUs", SETUP,
                        note=f"QEMU's CPU time over {args.window:g} s at the "
                        f"prompt, {emu.SETUPS[SETUP].cpus} emulated CPUs, "
                        "no VM running")
    text = (f"Host CPUs QEMU uses while Lamina idles at the prompt "
            f"({SETUP}): {benchlib.spread(f)}")
    benchlib.save("idle_cpu", [f], text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
