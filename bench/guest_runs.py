#!/usr/bin/python3
"""Exits per guest run: what each test guest costs in VM exits, by reason.

For every test guest that ends by itself (the passing ones of
tests/integration/test_guests.py and test_guest_devices.py; not the ones
that crash, halt for ever or wait for console input), boot its config
(tests/configs/guest-*.yaml), `start` the VM, wait for the log line
"vm: vm 'NAME' stopped", then read `stats NAME`: the exit counters by
reason (cpuid, io, hlt, msr, npf, hypercall, shutdown, other) and the
bytes the guest wrote to its console.

These are counts, not timings: a guest run is the same instructions every
time, so the same exits. They change only when the guest or Lamina's
intercepts change (an exit handled in Lamina instead of the guest, a new
intercept), which is what this table is for. `--runs 2` boots everything
twice and says whether any count moved.

    bench/guest_runs.py [--runs N] [--guests a,b] [SETUP ...]
                        (default: qemu-bios bochs-vmx)

Needs a built tree (`make`); each boot makes its image as the tests do.
Writes build/bench/guest_runs.json and build/bench/guest_runs.txt; the
JSON's "figures" (bench/benchlib.py), per setup the row ran on, exact:

    guest.<row>.exits.<kind>      the kinds that are not 0
    guest.<row>.exits.total
    guest.<row>.console_bytes
    guest.smp.other.*             the second VM of the smp row
"""

import argparse
import dataclasses
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "tools"))
sys.path.insert(0, HERE)
# conftest puts tools/ on sys.path and gives booted(); the test modules
# hold the guest tables, so this list follows theirs.
from conftest import booted  # noqa: E402
import benchlib  # noqa: E402
import emu  # noqa: E402
import test_guests  # noqa: E402
import test_guest_devices  # noqa: E402

OUT = os.path.join(REPO, "build", "bench")
CFG = os.path.join(REPO, "tests", "configs")
KINDS = ("cpuid", "io", "hlt", "msr", "npf", "hypercall", "shutdown",
         "other")
SETUPS = ("qemu-bios", "bochs-vmx")
# The same machine with 4 CPUs, for a config that needs them.
WIDER = {"bochs-vmx": "bochs-vmx-4"}


@dataclasses.dataclass(frozen=True)
class Run:
    key: str             # row name
    config: str          # in tests/configs
    vms: tuple           # VMs started one after the other, each to its end
    min_cpus: int = 2    # pCPUs the config needs
    wait: float = 60     # seconds from `start` to the VM's end
    note: str = ""


def guest_list():
    """The guests of the two test modules that stop by themselves, in
    their order, and the two-vCPU one (its test is a function of its own,
    its config also holds the raw32 hello guest, run after it)."""
    runs = []
    for key, g in test_guests.GUESTS.items():
        runs.append(Run(key, g.config, (g.vm,)))
    for key, g in test_guest_devices.GUESTS.items():
        runs.append(Run(key, g.config, (g.vm,),
                        wait=test_guest_devices.WAIT.get(key, 60)))
    runs.append(Run("smp", "guest-smp32.yaml", ("smp", "other"), min_cpus=4,
                    wait=120, note="2 vCPUs, then 'other' (raw32 hello) "
                    "in the same boot"))
    return runs


def read_stats(con, name):
    """`stats NAME` as {counter: n}; console bytes under "console"."""
    lines = con.run(f"stats {name}")
    counts = {"head": lines[0] if lines else ""}
    for line in lines[1:]:
        m = re.match(r"\s*console\s+(\d+) bytes \((\d+) dropped\)", line)
        if m:
            counts["console"] = int(m.group(1))
            counts["console_dropped"] = int(m.group(2))
            continue
        m = re.match(r"\s*(\w+)\s+(\d+)", line)
        if m:
            counts[m.group(1)] = int(m.group(2))
    return counts


def one_run(run, setup, i):
    """Boot run.config on setup and run its VMs in turn: {vm: result}."""
    res = {}
    t0 = time.monotonic()
    with booted(setup, logname=f"bench-exits-{run.key}-{setup}-{i}",
                config=os.path.join(CFG, run.config)) as con:
        if con.broken:
            return {vm: {"error": "no prompt: " + str(con.broken)
                         .split("\n")[0]} for vm in run.vms}
        for vm in run.vms:
            try:
                state, reason = test_guests.start_and_wait(con, vm, run.wait)
                st = read_stats(con, vm)
            except emu.EmuError as e:
                res[vm] = {"error": str(e).split("\n")[0]}
                break
            res[vm] = {"state": state, "reason": reason,
                       "exits": {k: st.get(k) for k in KINDS},
                       "total": sum(st.get(k) or 0 for k in KINDS),
                       "console": st.get("console"),
                       "console_dropped": st.get("console_dropped"),
                       "vcpus": st.get("vcpus"),
                       "unclaimed": st.get("unclaimed")}
    for vm in run.vms:
        res.setdefault(vm, {"error": "not run (an earlier VM failed)"})
    res["_seconds"] = round(time.monotonic() - t0, 1)
    return res


def run_figures(run, setup, boots):
    """Exact figures of one row from all its boots (a VM that failed in a
    boot adds no value from that boot)."""
    figs = []
    for vm in run.vms:
        prefix = f"guest.{run.key}" + (f".{vm}" if vm != run.vms[0] else "")
        ok = [b[vm] for b in boots if "error" not in b[vm]]
        if not ok:
            continue
        for k in KINDS:
            vals = [r["exits"][k] or 0 for r in ok]
            if any(vals):
                figs.append(benchlib.figure(f"{prefix}.exits.{k}", vals,
                                            "exits", setup, exact=True))
        figs.append(benchlib.figure(f"{prefix}.exits.total",
                                    [r["total"] for r in ok], "exits",
                                    setup, exact=True))
        vals = [r["console"] for r in ok if r["console"] is not None]
        if vals:
            figs.append(benchlib.figure(f"{prefix}.console_bytes", vals,
                                        "bytes", setup, exact=True))
    return figs


def measure(setups, runs, nruns):
    """{setup: {row: entry}} and the figures."""
    results, figures = {}, []
    for setup in setups:
        cpus = emu.SETUPS[setup].cpus
        results[setup] = {}
        try:
            emu.check_available(setup)
        except emu.MissingDependency as e:
            for run in runs:
                results[setup][run.key] = {"skipped": str(e)}
            print(f"  {setup}: skipped: {e}", file=sys.stderr, flush=True)
            continue
        for run in runs:
            use = setup
            if cpus < run.min_cpus:
                use = WIDER.get(setup)
                if not use or emu.SETUPS[use].cpus < run.min_cpus:
                    results[setup][run.key] = {
                        "skipped": f"{run.config} needs {run.min_cpus} "
                                   f"CPUs, {setup} has {cpus}"}
                    print(f"  {setup} {run.key}: skipped ({cpus} CPUs)",
                          file=sys.stderr, flush=True)
                    continue
            boots = [one_run(run, use, i) for i in range(nruns)]
            entry = {"config": run.config, "note": run.note, "setup": use,
                     "boot_seconds": [b.pop("_seconds") for b in boots],
                     "vms": boots[0]}
            if nruns > 1:
                entry["identical_in_all_runs"] = all(b == boots[0]
                                                     for b in boots)
                if not entry["identical_in_all_runs"]:
                    entry["all_runs"] = boots
            results[setup][run.key] = entry
            figures += run_figures(run, use, boots)
            print(f"  {setup} {run.key}: {entry['boot_seconds']} s",
                  file=sys.stderr, flush=True)
    return results, figures


def run_cpus(setup):
    return emu.SETUPS[setup].cpus


def render(results, nruns):
    head = (f"{'setup':10} {'guest':11} {'vm':8} " +
            " ".join(f"{k:>9}" for k in KINDS) +
            f" {'total':>6} {'console':>8}  end")
    lines = ["Exits per guest run (counts from `stats`, not timings: "
             "deterministic)", head, "-" * len(head)]
    notes, differ = [], []
    for setup, rows in results.items():
        for key, e in rows.items():
            if "skipped" in e:
                lines.append(f"{setup:10} {key:11} skipped: {e['skipped']}")
                continue
            label = key if e["setup"] == setup else f"{key}*"
            if e["setup"] != setup:
                notes.append(f"* {setup} {key}: run on {e['setup']} "
                             f"({run_cpus(e['setup'])} CPUs: the config "
                             f"needs them)")
            for vm, r in e["vms"].items():
                if "error" in r:
                    lines.append(f"{setup:10} {label:11} {vm:8} ERROR: "
                                 f"{r['error']}")
                    continue
                ex = r["exits"]
                end = r["state"]
                if r["state"] != "stopped" or \
                        not r["reason"].startswith("debug-exit: the guest "
                                                   "wrote 0x0"):
                    end += f" ({r['reason']})"
                if r.get("console_dropped"):
                    end += f", {r['console_dropped']} console bytes dropped"
                lines.append(
                    f"{setup:10} {label:11} {vm:8} " +
                    " ".join(f"{ex[k] if ex[k] is not None else '-':>9}"
                             for k in KINDS) +
                    f" {r['total']:>6} {r['console']:>8}  {end}")
            if nruns > 1 and not e.get("identical_in_all_runs", True):
                differ.append(f"{setup} {key}: counts differed between "
                              f"the {nruns} runs (see guest_runs.json "
                              "all_runs)")
    if nruns > 1 and not differ:
        differ.append(f"every count was identical in all {nruns} runs")
    notes += differ
    lines.append("end: 'stopped' = the guest wrote 0 to its debug-exit "
                 "port; console = bytes the guest wrote to its UART")
    return "\n".join(lines + notes) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1,
                    help="boots per guest and setup (2+: check the counts "
                    "repeat)")
    ap.add_argument("--guests", default="",
                    help="comma-separated row names (default: all)")
    ap.add_argument("setups", nargs="*", default=list(SETUPS))
    args = ap.parse_args()
    for s in args.setups:
        if s not in emu.SETUPS:
            ap.error(f"unknown setup {s!r}: {', '.join(emu.SETUPS)}")
    elf = os.path.join(REPO, "build", "lamina-stripped.elf")
    if not os.path.isfile(elf):
        sys.exit(f"{elf} not found: run `make` first")
    runs = guest_list()
    if args.guests:
        want = args.guests.split(",")
        runs = [r for r in runs if r.key in want]
    os.makedirs(OUT, exist_ok=True)
    results, figures = measure(args.setups, runs, args.runs)
    text = render(results, args.runs)
    benchlib.save("guest_runs", figures, text, kinds=KINDS, runs=args.runs,
                  setups=results)
    print(text, end="")


if __name__ == "__main__":
    main()
