#!/usr/bin/python3
"""VM lifecycle through the monitor: memory leaked over many create/destroy
cycles, the time of one cycle, and how long `pause` takes to stop a vCPU
spinning on its UART.

Boots tests/configs/guest-echo32.yaml (one 2 MiB VM on pCPU 1 running the
echo guest, which polls its UART without pause) and:

- reads `mem`'s "free:" line, runs CYCLES times `destroy echo` + `create
  echo` (typed in batches, each reply checked), reads it again: the
  difference is the leak (goal: 0 bytes). The time per cycle is wall time
  at the host divided by the cycles, so it includes the emulated serial
  line both ways; Lamina's own share is smaller.
- starts the VM and runs PAUSES `pause echo` / `resume echo` pairs; each
  `pause` reply says how long Lamina took, by its own clock, from the
  request until every vCPU was out of the guest (goal: under 10 ms).

    bench/lifecycle.py [--cycles N] [--pauses N] [SETUP ...]
    (default: 10000 cycles, 200 pauses, qemu-bios)

Writes build/bench/lifecycle.json and build/bench/lifecycle.txt; the
JSON keeps each setup's result under "results" and has "figures"
(bench/benchlib.py), per setup:

    lifecycle.leak_bytes   free memory lost over all the cycles: exact
    lifecycle.cycle_ms     wall ms per destroy/create cycle, one value per
                           batch of 25 cycles: median and spread
    lifecycle.pause_us     each `pause`'s own time: median and spread
"""

import argparse
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "tools"))
sys.path.insert(0, HERE)
from conftest import booted  # noqa: E402
import benchlib  # noqa: E402

CFG = os.path.join(REPO, "tests", "configs", "guest-echo32.yaml")
BATCH = 25


def free_kib(con):
    for line in con.run("mem"):
        m = re.match(r"free:\s+(\d+) KiB", line)
        if m:
            return int(m.group(1))
    raise RuntimeError("no 'free:' line in `mem`")


def cycles(con, n):
    """n destroy/create pairs, typed BATCH at a time; every reply checked.
    The wall ms per cycle of each batch."""
    done, per_batch = 0, []
    while done < n:
        k = min(BATCH, n - done)
        t0 = time.monotonic()
        con.type("destroy echo\rcreate echo\r" * k)
        for _ in range(k):
            con.expect(r"vm 'echo' destroyed\r\n", 60)
            con.expect(r"vm 'echo' created \(id \d+\)\r\n", 60)
        per_batch.append((time.monotonic() - t0) * 1000 / k)
        done += k
    con.prompt()
    return per_batch


def pauses(con, n):
    us = []
    con.run("start echo")
    for _ in range(n):
        reply = [l for l in con.run("pause echo") if "paused in" in l]
        us.append(int(re.search(r"paused in (\d+) us", reply[0]).group(1)))
        assert any("resumed" in l for l in con.run("resume echo"))
    return us


def run(setup, n_cycles, n_pauses):
    with booted(setup, logname=f"bench-lifecycle-{setup}", config=CFG) as con:
        con.require(full=True)
        before = free_kib(con)
        t0 = time.monotonic()
        batch_ms = cycles(con, n_cycles)
        wall = time.monotonic() - t0
        after = free_kib(con)
        us = pauses(con, n_pauses)
    return {"setup": setup, "cycles": n_cycles,
            "leak_bytes": (before - after) * 1024,
            "ms_per_cycle_wall": wall * 1000 / n_cycles,
            "pauses": n_pauses,
            "pause_us_median": statistics.median(us),
            "pause_us_max": max(us), "pause_us_min": min(us),
            "batch_ms_per_cycle": [round(x, 3) for x in batch_ms],
            "pause_us": us}


def figures(r):
    setup = r["setup"]
    return [
        benchlib.figure("lifecycle.leak_bytes", [r["leak_bytes"]], "bytes",
                        setup, exact=True,
                        note=f"over {r['cycles']} destroy/create cycles; "
                             "goal 0"),
        benchlib.figure("lifecycle.cycle_ms", r["batch_ms_per_cycle"], "ms",
                        setup, note=f"host wall time, serial line included; "
                        f"one value per batch of {BATCH}"),
        benchlib.figure("lifecycle.pause_us", r["pause_us"], "us", setup,
                        note="Lamina's own clock, request to every vCPU "
                             "out; goal < 10000 us"),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cycles", type=int, default=10000)
    ap.add_argument("--pauses", type=int, default=200)
    ap.add_argument("setups", nargs="*", default=["qemu-bios"])
    args = ap.parse_args()
    results = [run(s, args.cycles, args.pauses) for s in args.setups]
    lines = ["setup        cycles  leaked  ms/cycle (wall, serial incl.)  "
             "pauses  pause us median / min / max"]
    for r in results:
        lines.append(f"{r['setup']:<12} {r['cycles']:>6}  {r['leak_bytes']:>5} B  "
                     f"{r['ms_per_cycle_wall']:>8.2f}                       "
                     f"{r['pauses']:>6}  {r['pause_us_median']:.0f} / "
                     f"{r['pause_us_min']} / {r['pause_us_max']}")
    benchlib.save("lifecycle", [f for r in results for f in figures(r)],
                  "\n".join(lines), results=results)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
