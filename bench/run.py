#!/usr/bin/python3
"""Lamina's measurements: image size, memory in use at the prompt (and the
part of it that virtualisation takes per CPU), the time from GRUB's
hand-off to the prompt by Lamina's own clock, and each hv_init() step.

    make bench                     # or: bench/run.py [--runs N] [SETUP ...]

Writes build/bench/report.txt and build/bench/report.json. Each timed
figure is the median of several boots with its minimum and maximum: under
emulation a boot's time depends on the host, so compare figures taken on
the same machine only.
"""

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tools"))
import emu  # noqa: E402

OUT = os.path.join(REPO, "build", "bench")
ELF = os.path.join(REPO, "build", "lamina-stripped.elf")
# Log lines whose timestamps mark the end of each boot step.
STEPS = {
    "time": r"\[\s*(\d+\.\d+)\] time: TSC",
    "mm": r"\[\s*(\d+\.\d+)\] mm: ",
    "paging": r"\[\s*(\d+\.\d+)\] paging: ",
    "smp": r"\[\s*(\d+\.\d+)\] smp: \d+ of \d+ CPUs online",
}
HV_STEP_RE = r"hv: step \d/\d '(\w+)' done in (\d+) us"
HV_TOTAL_RE = r"hv: virtualisation on \(.*\) in (\d+) us"


def image_size():
    """Bytes of the file in the image, and of what it occupies in memory."""
    out = subprocess.run(["size", ELF], capture_output=True, text=True,
                         check=True).stdout.splitlines()[1].split()
    text, data, bss = (int(x) for x in out[:3])
    return {"file_bytes": os.path.getsize(ELF), "text": text, "data": data,
            "bss": bss}


def one_boot(setup, logdir):
    m = emu.start(setup, logdir=logdir)
    try:
        m.expect(r"ready in (\d+) us", timeout=emu.SETUPS[setup].boot_timeout)
        ready_us = int(m.child.match.group(1))
        m.expect(emu.PROMPT, timeout=30)
        m.sendline("mem")
        m.expect(r"of which Lamina (\d+) KiB", timeout=30)
        lamina_kib = int(m.child.match.group(1))
        m.expect(r"virt\s+(\d+) KiB", timeout=30)
        virt_kib = int(m.child.match.group(1))
        m.expect(emu.PROMPT, timeout=30)
        log = m.tail(20000)
    finally:
        m.stop()
    steps = {}
    for name, pat in STEPS.items():
        found = re.search(pat, log)
        if found:
            steps[name] = round(float(found.group(1)) * 1e6)
    for name, us in re.findall(HV_STEP_RE, log):
        steps["hv." + name] = int(us)
    total = re.search(HV_TOTAL_RE, log)
    if total:
        steps["hv_init"] = int(total.group(1))
    cpus = emu.SETUPS[setup].cpus
    return {"ready_us": ready_us, "lamina_kib": lamina_kib,
            "virt_kib_per_cpu": virt_kib / cpus, "steps_us": steps}


def summary(values):
    return {"median": statistics.median(values), "min": min(values),
            "max": max(values), "runs": len(values)}


def git_rev():
    try:
        return subprocess.run(["git", "-C", REPO, "rev-parse", "--short=12",
                               "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def host_cpu():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("setups", nargs="*",
                    default=["qemu-bios", "qemu-uefi", "bochs-vmx",
                             "bochs-svm"])
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    kvm_ok, kvm_why = emu.kvm_status()
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "commit": git_rev(), "host_cpu": host_cpu(),
        "host_cores": os.cpu_count(), "kvm": kvm_ok, "kvm_why": kvm_why,
        "image": image_size(), "setups": {},
    }
    for setup in args.setups:
        boots = [one_boot(setup, os.path.join(OUT, f"{setup}-{i}"))
                 for i in range(args.runs)]
        res = {"what": emu.SETUPS[setup].what,
               "ready_us": summary([b["ready_us"] for b in boots]),
               "lamina_kib": summary([b["lamina_kib"] for b in boots]),
               "virt_kib_per_cpu": summary([b["virt_kib_per_cpu"]
                                            for b in boots]),
               "steps_us": {s: summary([b["steps_us"][s] for b in boots
                                        if s in b["steps_us"]])
                            for s in boots[0]["steps_us"]}}
        report["setups"][setup] = res
    with open(os.path.join(OUT, "report.json"), "w") as f:
        json.dump(report, f, indent=2)
    text = render(report)
    with open(os.path.join(OUT, "report.txt"), "w") as f:
        f.write(text)
    print(text, end="")


def render(r):
    img = r["image"]
    lines = [
        f"Lamina bench, commit {r['commit']}, {r['date']}",
        f"host: {r['host_cpu']}, {r['host_cores']} cores; "
        f"KVM: {'yes' if r['kvm'] else 'no'} ({r['kvm_why']})",
        f"image: {img['file_bytes']} bytes on disk (stripped ELF); in memory "
        f"text {img['text']} + data {img['data']} + bss {img['bss']} bytes",
    ]
    for name, s in r["setups"].items():
        rd, mem = s["ready_us"], s["lamina_kib"]
        lines.append(f"{name}: {s['what']}")
        lines.append(f"  hand-off to prompt: median {rd['median'] / 1000:.1f} ms"
                     f" (min {rd['min'] / 1000:.1f}, max {rd['max'] / 1000:.1f},"
                     f" {rd['runs']} boots; emulated, Lamina's own clock)")
        boot = ", ".join(f"{k} {v['median'] / 1000:.1f} ms"
                         for k, v in s["steps_us"].items() if k in STEPS)
        lines.append(f"  boot steps done at (median): {boot}")
        hv = ", ".join(f"{k[3:]} {v['median']} us"
                       for k, v in s["steps_us"].items()
                       if k.startswith("hv."))
        if "hv_init" in s["steps_us"]:
            lines.append(f"  hv_init {s['steps_us']['hv_init']['median']} us "
                         f"(median); steps: {hv}")
        lines.append(f"  Lamina memory at the prompt: {mem['median']} KiB "
                     f"(min {mem['min']}, max {mem['max']}); "
                     f"virtualisation {s['virt_kib_per_cpu']['median']:g} "
                     "KiB per CPU")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
