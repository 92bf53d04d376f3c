#!/usr/bin/python3
"""Exit round-trip cost in instructions, measured by a guest.

tests/guests/exitcost32.asm times 1000 exits of each kind with RDTSC
(CPUID, OUT to the UART's scratch register, RDMSR of IA32_MISC_ENABLE, the
version hypercall, the first write to a dirty-logged page) against the
same loop without the exit. Under QEMU with -icount shift=0 and under
Bochs (clock: sync=none) the TSC advances once per executed instruction,
so (exits - base) / 1000 is the exact number of instructions per exit
round trip: hardware, Lamina and back. Deterministic: a change that costs
instructions shows up exactly, which is what bench/exit_budgets.json and
`make test` (tests/integration/test_exit_cost.py) hold Lamina to.

    bench/exit_cost.py [--runs N] [SETUP ...]
                       (default: qemu-bios bochs-svm-2 bochs-vmx)
    bench/exit_cost.py --update-budgets     after a change that is worth it

Writes build/bench/exit_cost.{json,txt}; serial logs stay in
build/bench/exitcost-SETUP/.
"""

import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402
from benchlib import REPO, OUT, emu  # noqa: E402

CONFIG = os.path.join(REPO, "tests", "configs", "guest-exitcost32.yaml")
ELF = os.path.join(REPO, "build", "lamina-stripped.elf")
BUDGETS = os.path.join(HERE, "exit_budgets.json")
KINDS = ("cpuid", "io", "msr", "hypercall", "npf")
SETUPS = ("qemu-bios", "bochs-svm-2", "bochs-vmx")
N = 1000
# QEMU counts instructions only with icount; Bochs' TSC always does.
EXTRA = {"qemu": ("-icount", "shift=0")}
# A change may cost this much over the budget before `make test` fails.
TOLERANCE = 0.10


def image():
    iso = os.path.join(OUT, "exitcost.iso")
    os.makedirs(OUT, exist_ok=True)
    subprocess.run([os.path.join(REPO, "tools", "mkiso.sh"), iso, ELF, "",
                    CONFIG], check=True)
    return iso


def parse(text):
    """{kind: instructions per round trip} from the guest's lines."""
    got = {k: (int(a) - int(b)) / N for k, a, b in
           re.findall(r"EXITCOST (\w+) (\d+) (\d+)", text)}
    missing = [k for k in KINDS if k not in got]
    if missing or "EXITCOST end" not in text:
        raise RuntimeError(f"the guest printed no figure for {missing or 'end'}")
    return got


def exact(setup):
    """Instruction counts (emulated), or cycles where QEMU runs on KVM
    (-icount needs TCG; the hardware's TSC counts cycles and varies)."""
    return benchlib.backing(setup) == "emulated"


def measure(setup, iso):
    """One boot: {kind: instructions (or cycles, on hardware)}."""
    s = emu.SETUPS[setup]
    extra = EXTRA.get(s.emulator, ()) if exact(setup) else ()
    m = emu.start(setup, iso, os.path.join(OUT, f"exitcost-{setup}"), extra)
    try:
        m.expect(emu.PROMPT, s.boot_timeout)
        m.sendline("start exitcost")
        m.expect(r"vm 'exitcost' stopped", 180)
        text = m.tail(8000)
    finally:
        m.stop()
    return parse(text.replace("console: ", ""))


def load_budgets():
    with open(BUDGETS) as f:
        return json.load(f)["budgets"]


def over_budget(setup, got, budgets=None):
    """Lines for each kind more than TOLERANCE over its budget."""
    budgets = budgets or load_budgets()
    bad = []
    if not exact(setup):  # budgets are instruction counts
        return bad
    for kind, new in got.items():
        old = budgets.get(setup, {}).get(kind)
        if old is None:
            bad.append(f"{setup} {kind}: {new:g} instructions, and no budget in "
                       f"bench/exit_budgets.json")
        elif new > old * (1 + TOLERANCE):
            bad.append(f"{setup} {kind}: budget {old:g}, now {new:g} instructions "
                       f"(+{(new - old) / old:.0%}, more than {TOLERANCE:.0%})")
    return bad


def write_budgets(results):
    budgets = load_budgets() if os.path.exists(BUDGETS) else {}
    for setup, runs in results.items():
        if exact(setup):
            budgets[setup] = {k: runs[0][k] for k in KINDS}
    with open(BUDGETS, "w") as f:
        json.dump({"what": "instructions per exit round trip, exact "
                   "(bench/exit_cost.py); make test fails past +10%",
                   "budgets": budgets}, f, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("setups", nargs="*", default=list(SETUPS))
    ap.add_argument("--runs", type=int, default=None,
                    help="boots per setup (default 1: the counts are exact, "
                    "2 checks it; 5 where QEMU runs on KVM)")
    ap.add_argument("--update-budgets", action="store_true",
                    help="write these counts to bench/exit_budgets.json")
    args = ap.parse_args()
    iso = image()
    results = {s: [measure(s, iso) for _ in
                   range(args.runs or (1 if exact(s) else 5))]
               for s in args.setups}
    figures, lines = [], [f"{'setup':12} {'vendor':6} " +
                          " ".join(f"{k:>9}" for k in KINDS)]
    for setup, runs in results.items():
        for k in KINDS:
            figures.append(benchlib.figure(
                f"exit.{k}", [r[k] for r in runs],
                "instructions" if exact(setup) else "cycles", setup,
                exact=exact(setup)))
        lines.append(f"{setup:12} {benchlib.vendor(setup):6} " +
                     " ".join(f"{runs[0][k]:>9g}" for k in KINDS))
        if any(r != runs[0] for r in runs):
            lines.append(f"  runs differ: {runs}")
    text = ("instructions per exit round trip (exact; cycles where a setup "
            "runs on KVM)\n" + "\n".join(lines))
    benchlib.save("exit_cost", figures, text)
    print(text)
    if args.update_budgets:
        write_budgets(results)
        print(f"budgets written to {os.path.relpath(BUDGETS, REPO)}")
        return 0
    bad = [b for setup, runs in results.items()
           for b in over_budget(setup, runs[0])]
    for b in bad:
        print("OVER BUDGET:", b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
