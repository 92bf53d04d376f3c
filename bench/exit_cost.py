#!/usr/bin/python3
"""Exit round-trip cost in instructions, measured by a guest.

tests/guests/exitcost32.asm times 1000 CPUID exits, 1000 port writes to an
unowned port and 1000 iterations of the same loop with no exit, with RDTSC.
Under QEMU with -icount shift=0 and under Bochs (clock: sync=none) the TSC
advances once per executed instruction, so (exits - loop) / 1000 is the
exact number of instructions per exit round trip: hardware, Lamina and
back. Deterministic: a change that costs instructions shows up exactly.

    bench/exit_cost.py [SETUP ...]     (default: qemu-bios bochs-svm-2 bochs-vmx)
"""

import json
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools"))
import emu  # noqa: E402

OUT = os.path.join(REPO, "build", "bench")
CONFIG = os.path.join(REPO, "tests", "configs", "guest-exitcost32.yaml")
ELF = os.path.join(REPO, "build", "lamina-stripped.elf")
N = 1000
EXTRA = {"qemu": ("-icount", "shift=0")}


def image():
    iso = os.path.join(OUT, "exitcost.iso")
    subprocess.run([os.path.join(REPO, "tools", "mkiso.sh"), iso, ELF, "",
                    CONFIG], check=True)
    return iso


def measure(setup, iso):
    s = emu.SETUPS[setup]
    m = emu.start(setup, iso, os.path.join(OUT, f"exitcost-{setup}"),
                  EXTRA.get(s.emulator, ()))
    try:
        m.expect(emu.PROMPT, s.boot_timeout)
        m.sendline("start exitcost")
        m.expect(r"vm 'exitcost' stopped", 120)
        text = m.tail(6000)
    finally:
        m.stop()
    got = dict((k, int(v)) for k, v in
               re.findall(r"console: EXITCOST (\w+) (\d+)", text))
    loop = got["loop"]
    return {k: (v - loop) / N for k, v in got.items() if k != "loop"}


def main():
    setups = sys.argv[1:] or ["qemu-bios", "bochs-svm-2", "bochs-vmx"]
    os.makedirs(OUT, exist_ok=True)
    iso = image()
    results = {s: measure(s, iso) for s in setups}
    with open(os.path.join(OUT, "exit_cost.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(f"{'setup':14} {'exit':6} instructions per round trip")
    for setup, r in results.items():
        for kind, cost in r.items():
            print(f"{setup:14} {kind:6} {cost:g}")


if __name__ == "__main__":
    main()
