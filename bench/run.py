#!/usr/bin/python3
"""Lamina's measurements: image size, memory in use at the prompt (and the
part of it that virtualisation takes per CPU), the time from GRUB's
hand-off to the prompt by Lamina's own clock, and each hv_init() step.

    make bench                     # or: bench/run.py [--runs N] [SETUP ...]
                                   #     [--config YAML]

Boots build/bench/boot.iso, made here from build/lamina-stripped.elf and
tests/configs/boot-default.yaml (the tests' two small VMs, created at
boot, not started; --config another): build/lamina.iso holds the demo,
whose 512 MiB Linux VM does not fit a 256 MiB setup.

Writes build/bench/boot.txt and build/bench/boot.json (bench "boot";
bench/report.py gathers it into build/bench/report.*). Each timed figure
is the median of several boots with its minimum and maximum: under
emulation a boot's time depends on the host, so compare figures taken on
the same machine only. Figures (benchlib.py), per setup:

    image.file_bytes, image.loaded_bytes     the stripped ELF, and its
                                             text + data + bss (no setup)
    boot.handoff_to_prompt_ms                GRUB's hand-off to the prompt
    boot.done_at.<step>_ms                   time, mm, paging, smp: when
                                             each boot step was done
    boot.hv_init_us, boot.hv_step.<step>_us  hv_init() and each of its steps
    mem.lamina_at_prompt_kib                 Lamina's memory at the prompt
    mem.virt_per_cpu_kib                     virtualisation's, per CPU
"""

import argparse
import datetime
import os
import platform
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402
from benchlib import OUT, REPO, emu  # noqa: E402

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
HV_OFF_RE = r"hv: virtualisation off: ([^\r\n]*)"
CONFIG = os.path.join(REPO, "tests", "configs", "boot-default.yaml")
ISO = os.path.join(OUT, "boot.iso")


def make_image(config):
    os.makedirs(OUT, exist_ok=True)
    subprocess.run([os.path.join(REPO, "tools", "mkiso.sh"), ISO, ELF, "",
                    config], check=True)
    return ISO


def image_size():
    """Bytes of the file in the image, and of what it occupies in memory."""
    out = subprocess.run(["size", ELF], capture_output=True, text=True,
                         check=True).stdout.splitlines()[1].split()
    text, data, bss = (int(x) for x in out[:3])
    return {"file_bytes": os.path.getsize(ELF), "text": text, "data": data,
            "bss": bss}


def one_boot(setup, iso, logdir):
    m = emu.start(setup, iso, logdir=logdir)
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
    off = re.search(HV_OFF_RE, log)
    return {"ready_us": ready_us, "lamina_kib": lamina_kib,
            "virt_kib_per_cpu": virt_kib / cpus, "steps_us": steps,
            "hv_off": off.group(1).strip() if off else None}


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
    ap.add_argument("--config", default=CONFIG,
                    help="the YAML config booted (default "
                    f"{os.path.relpath(CONFIG, REPO)})")
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
        "image": image_size(),
        "config": os.path.relpath(os.path.abspath(args.config), REPO),
        "setups": {},
    }
    img = report["image"]
    figures = [
        benchlib.figure("image.file_bytes", [img["file_bytes"]], "bytes",
                        exact=True, note="build/lamina-stripped.elf"),
        benchlib.figure("image.loaded_bytes",
                        [img["text"] + img["data"] + img["bss"]], "bytes",
                        exact=True, note="text + data + bss"),
    ]
    for setup in args.setups:
        if setup not in emu.SETUPS:
            ap.error(f"unknown setup {setup!r}: {', '.join(emu.SETUPS)}")
    iso = make_image(args.config)
    for setup in args.setups:
        boots = [one_boot(setup, iso, os.path.join(OUT, f"{setup}-{i}"))
                 for i in range(args.runs)]
        res = {"what": emu.SETUPS[setup].what,
               "ready_us": summary([b["ready_us"] for b in boots]),
               "lamina_kib": summary([b["lamina_kib"] for b in boots]),
               "virt_kib_per_cpu": summary([b["virt_kib_per_cpu"]
                                            for b in boots]),
               "steps_us": {s: summary([b["steps_us"][s] for b in boots
                                        if s in b["steps_us"]])
                            for s in boots[0]["steps_us"]},
               "hv_off": sorted({b["hv_off"] for b in boots
                                 if b["hv_off"]})}
        report["setups"][setup] = res
        figures += setup_figures(setup, boots)
    text = render(report)
    benchlib.save("boot", figures, text, **report)
    print(text, end="")


def setup_figures(setup, boots):
    """One setup's boots as figures (benchlib.figure)."""
    def fig(name, vals, unit, exact=False):
        return benchlib.figure(name, vals, unit, setup, exact=exact)
    figs = [fig("boot.handoff_to_prompt_ms",
                [b["ready_us"] / 1000 for b in boots], "ms")]
    for step in boots[0]["steps_us"]:
        vals = [b["steps_us"][step] for b in boots if step in b["steps_us"]]
        if step in STEPS:
            figs.append(fig(f"boot.done_at.{step}_ms",
                            [v / 1000 for v in vals], "ms"))
        elif step == "hv_init":
            figs.append(fig("boot.hv_init_us", vals, "us"))
        elif step.startswith("hv."):
            figs.append(fig(f"boot.hv_step.{step[3:]}_us", vals, "us"))
    # Page counts: the same in every boot unless something changed.
    figs.append(fig("mem.lamina_at_prompt_kib",
                    [b["lamina_kib"] for b in boots], "KiB", exact=True))
    on = [b for b in boots if not b["hv_off"]]
    if on:
        figs.append(fig("mem.virt_per_cpu_kib",
                        [b["virt_kib_per_cpu"] for b in on], "KiB",
                        exact=True))
    return figs


def render(r):
    img = r["image"]
    lines = [
        f"Lamina bench, commit {r['commit']}, {r['date']}",
        f"host: {r['host_cpu']}, {r['host_cores']} cores; "
        f"KVM: {'yes' if r['kvm'] else 'no'} ({r['kvm_why']})",
        f"image: {img['file_bytes']} bytes on disk (stripped ELF); in memory "
        f"text {img['text']} + data {img['data']} + bss {img['bss']} bytes",
        f"config: {r['config']}",
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
        for why in s["hv_off"]:
            lines.append(f"  VIRTUALISATION OFF in a boot: {why} (no hv "
                         "step figures from that boot)")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
