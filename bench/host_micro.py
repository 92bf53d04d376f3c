#!/usr/bin/python3
"""Host micro-benchmarks of Lamina's pure code: second-level table pages
and build time (bench/stage2_build.c over mm/stage2.c) and gfn-to-memslot
lookups (bench/memslot_lookup.c over mm/memslot.c), as figures.

Runs the two built programs (`make build/bench/stage2_build
build/bench/memslot_lookup`) --runs times each and parses their tables:

    stage2.table_pages_per_gib.<cap>     EPT (vmx) and NPT (svm) table pages
                                         for 1 GiB of guest RAM, caps 1g_2m,
                                         2m, 4k: exact (every size's row
                                         is in the JSON's stage2_rows)
    stage2.build_us.<cap>                building 1 GiB: the median of each
                                         run's medians, spread over the runs
    memslot.lookup_ns.<pattern>.<slots>  ns per lookup, pattern same_slot or
                                         random, 1/8/64 slots (and "loop":
                                         the harness alone): median of runs
    memslot.lookup_insns.<pattern>.<slots>  instructions per lookup,
                                         single-stepped: exact

The raw output of the last run stays in build/bench/stage2_build.txt and
memslot_lookup.txt, as before. Exits 1 if stage2_build does (a build used
more table pages than the minimum).

    bench/host_micro.py [--runs N]            (default 5)

Writes build/bench/host_micro.{json,txt}.
"""

import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402
from benchlib import OUT, REPO  # noqa: E402

STAGE2 = os.path.join(REPO, "build", "bench", "stage2_build")
MEMSLOT = os.path.join(REPO, "build", "bench", "memslot_lookup")
VENDOR = {"EPT": "vmx", "NPT": "svm"}

# "EPT    1G+2M    256 MiB       3        3         12     0/ 128/      0
#        0.7 (0.7-1.8)"
STAGE2_ROW = re.compile(
    r"^(EPT|NPT)\s+(\S+)\s+(\d+) MiB\s+(\d+)\s+(\d+)\s+(\d+)\s+"
    r"(\d+)/\s*(\d+)/\s*(\d+)\s+([\d.]+) \(([\d.]+)-([\d.]+)\)\s*$", re.M)
# "same-slot       1       1.95          14.0" ("n/a" where the trap flag
# is not honoured; "-" slots for the loop alone)
MEMSLOT_ROW = re.compile(r"^(same-slot|random|loop)\s+(\d+|-)\s+([\d.]+)"
                         r"\s+([\d.]+|n/a)\s*$", re.M)


def cap_name(cap):
    """'1G+2M' -> '1g_2m'."""
    return cap.lower().replace("+", "_")


def run(prog):
    if not os.access(prog, os.X_OK):
        sys.exit(f"host_micro.py: no {os.path.relpath(prog, REPO)}: run "
                 f"`make {os.path.relpath(prog, REPO)}`")
    p = subprocess.run([prog], capture_output=True, text=True, timeout=600)
    if p.stderr:
        sys.stderr.write(p.stderr)
    return p.returncode, p.stdout


def parse_stage2(text):
    rows = []
    for m in STAGE2_ROW.finditer(text):
        rows.append({"format": m.group(1), "cap": cap_name(m.group(2)),
                     "mib": int(m.group(3)), "tables": int(m.group(4)),
                     "minimum": int(m.group(5)),
                     "table_kib": int(m.group(6)),
                     "leaves": [int(m.group(i)) for i in (7, 8, 9)],
                     "build_us": float(m.group(10)),
                     "build_us_min": float(m.group(11)),
                     "build_us_max": float(m.group(12))})
    if len(rows) != text.count(" MiB "):
        raise RuntimeError("stage2_build: a row did not parse:\n" + text)
    if not rows:
        raise RuntimeError("stage2_build: no rows:\n" + text)
    return rows


def parse_memslot(text):
    rows = []
    for m in MEMSLOT_ROW.finditer(text):
        rows.append({"pattern": m.group(1).replace("-", "_"),
                     "slots": None if m.group(2) == "-" else int(m.group(2)),
                     "ns": float(m.group(3)),
                     "insns": None if m.group(4) == "n/a"
                     else float(m.group(4))})
    if not rows:
        raise RuntimeError("memslot_lookup: no rows:\n" + text)
    return rows


def memslot_key(r):
    return r["pattern"] + (f".{r['slots']}" if r["slots"] else "")


def figures(s2runs, msruns):
    figs = []
    rows0 = s2runs[0]
    for r in rows0:
        if r["mib"] == 1024:
            figs.append(benchlib.figure(
                f"stage2.table_pages_per_gib.{r['cap']}",
                [x["tables"] for run in s2runs for x in run
                 if (x["format"], x["cap"], x["mib"]) ==
                 (r["format"], r["cap"], 1024)],
                "pages", exact=True, vendor_=VENDOR[r["format"]],
                note=f"minimum {r['minimum']} (vmx: EPT, svm: NPT)"))
    for r in rows0:
        if r["mib"] == 1024:
            figs.append(benchlib.figure(
                f"stage2.build_us.{r['cap']}",
                [x["build_us"] for run in s2runs for x in run
                 if (x["format"], x["cap"], x["mib"]) ==
                 (r["format"], r["cap"], 1024)],
                "us", vendor_=VENDOR[r["format"]],
                note="1 GiB; each value the median of 21 builds in one "
                     "run"))
    for r in msruns[0]:
        k = memslot_key(r)
        figs.append(benchlib.figure(
            f"memslot.lookup_ns.{k}",
            [x["ns"] for run in msruns for x in run if memslot_key(x) == k],
            "ns", note="each value the median of 11 x 1e6 lookups in one "
                       "run" + ("; the harness loop alone"
                                if r["pattern"] == "loop" else "")))
    for r in msruns[0]:
        k = memslot_key(r)
        vals = [x["insns"] for run in msruns for x in run
                if memslot_key(x) == k and x["insns"] is not None]
        if vals:
            figs.append(benchlib.figure(
                f"memslot.lookup_insns.{k}", vals, "instructions",
                exact=True, note="mean over 512 single-stepped lookups"))
    return figs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5,
                    help="runs of each program (spread of the timings)")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    os.makedirs(OUT, exist_ok=True)
    s2runs, msruns, s2fail = [], [], False
    for i in range(args.runs):
        rc, out = run(STAGE2)
        s2fail |= rc != 0
        s2runs.append(parse_stage2(out))
        if i == args.runs - 1:
            with open(os.path.join(OUT, "stage2_build.txt"), "w") as f:
                f.write(out)
            print(out, end="")
    for i in range(args.runs):
        rc, out = run(MEMSLOT)
        if rc != 0:
            sys.exit(f"host_micro.py: memslot_lookup exited {rc}")
        msruns.append(parse_memslot(out))
        if i == args.runs - 1:
            with open(os.path.join(OUT, "memslot_lookup.txt"), "w") as f:
                f.write(out)
            print(out, end="")
    figs = figures(s2runs, msruns)
    lines = [f"host micro-benchmarks, {args.runs} run(s) of each program"]
    for f in figs:
        lines.append(f"  {f['name']:38} {f.get('vendor') or '':4} "
                     f"{benchlib.spread(f):>28} {f['unit']}")
    if s2fail:
        lines.append("stage2_build FAILED: a build used more table pages "
                     "than the minimum")
    text = "\n".join(lines) + "\n"
    benchlib.save("host_micro", figs, text, runs=args.runs,
                  stage2_rows=s2runs[-1], memslot_rows=msruns[-1])
    print(text, end="")
    return 1 if s2fail else 0


if __name__ == "__main__":
    sys.exit(main())
