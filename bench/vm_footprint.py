#!/usr/bin/python3
"""Per-VM memory: what Lamina spends on one more VM besides its guest RAM
and its second-level (EPT/NPT) table pages, by page-allocator owner.

Boots bench/configs/footprint-1vm.yaml (one VM) and footprint-3vm.yaml
(three identical VMs: one vCPU each on pCPUs 1, 2 and 3, 1 MiB of RAM
holding the raw32 hello guest) and reads the monitor's `mem` twice in
each boot: at the prompt (the VMs exist, created from the config; no
vCPU yet) and after `start`ing every VM and waiting for each to stop
(vCPUs are made at `start` and kept after the stop). Then, by owner:

    per VM (created)    (mem_3 - mem_1) / 2                at the prompt
    per vCPU            ((started_3 - mem_3) - (started_1 - mem_1)) / 2
    once, first start   (started_1 - mem_1) - per vCPU

`mem` counts whole 4 KiB pages, so these are exact page counts; the
owner "objcache" is slab pages shared by up to several vCPUs (a vCPU's
own share is its object size, read from build/lamina.elf with gdb when
gdb is there). The goal: under 64 KiB per one-vCPU VM besides its RAM
and table pages.

    bench/vm_footprint.py [SETUP ...]   (default: qemu-bios bochs-vmx-4;
                                         each needs 4 CPUs)

Needs a built tree (`make`). Writes build/bench/vm_footprint.json and
build/bench/vm_footprint.txt; the JSON's "figures" (bench/benchlib.py),
per setup, bytes, exact (page counts):

    footprint.per_vm_bytes              one one-vCPU VM besides its RAM and
                                        table pages (the goal's figure)
    footprint.per_vm_created_bytes      a VM created, no vCPU yet
    footprint.per_vcpu_bytes            one more vCPU (whole pages)
    footprint.stage2_per_vm_bytes       its EPT/NPT table pages
    footprint.once_at_first_start_bytes the first vCPU's start, once
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "tools"))
sys.path.insert(0, HERE)
from conftest import booted  # noqa: E402
import benchlib  # noqa: E402
import emu  # noqa: E402

OUT = os.path.join(REPO, "build", "bench")
CONFIGS = {1: os.path.join(HERE, "configs", "footprint-1vm.yaml"),
           3: os.path.join(HERE, "configs", "footprint-3vm.yaml")}
ELF = os.path.join(REPO, "build", "lamina.elf")
GOAL = 64 * 1024
KIB = 1024
# Owners that are per-VM cost Lamina counts against the goal, and those
# the goal leaves out (guest RAM, table pages) or that are not Lamina's.
EXCLUDED = ("guest", "stage2", "bootdata")


def parse_mem(lines):
    """`mem` output as {owner: bytes}, plus "_lamina" (its total)."""
    out = {}
    for line in lines:
        m = re.search(r"of which Lamina (\d+) KiB", line)
        if m:
            out["_lamina"] = int(m.group(1)) * KIB
            continue
        m = re.match(r"\s+(\w+)\s+(\d+) KiB", line)
        if m:
            out[m.group(1)] = int(m.group(2)) * KIB
    if "_lamina" not in out or "vm" not in out:
        raise RuntimeError("unexpected `mem` output:\n" + "\n".join(lines))
    return out


def one_boot(setup, n):
    """mem at the prompt and after every VM ran to its end."""
    names = [f"fp{i}" for i in range(1, n + 1)]
    with booted(setup, logname=f"bench-footprint-{n}vm-{setup}",
                config=CONFIGS[n]) as con:
        con.require(full=True)
        vms = "\n".join(con.run("vms"))
        for name in names:
            if not re.search(rf"\b{name}\s+created\b", vms):
                raise RuntimeError(f"{setup}: vm {name} not created:\n{vms}")
        before = parse_mem(con.run("mem"))
        ends = {}
        for name in names:
            con.type(f"start {name}\r")
            con.expect(rf"vm: vm '{name}' (stopped|crashed): ([^\r\n]*)\r\n",
                       60)
            ends[name] = con.machine.child.match.group(0).strip()
            con.type("version\r")
            con.expect(r"monitor protocol \d+[^\r\n]*\r\n")
            con.prompt()
        heads = {name: con.run(f"stats {name}")[:2] for name in names}
        after = parse_mem(con.run("mem"))
    return {"before_start": before, "after_start": after, "ends": ends,
            "stats": heads}


def sub(a, b):
    """a - b by owner, in `mem`'s order."""
    keys = list(a) + [k for k in b if k not in a]
    return {k: a.get(k, 0) - b.get(k, 0) for k in keys}


def scale(d, f):
    return {k: v * f for k, v in d.items()}


def type_sizes():
    """sizeof(struct vm) and sizeof(struct vcpu) from the ELF's DWARF,
    or {} without gdb."""
    gdb = shutil.which("gdb")
    if not gdb or not os.path.isfile(ELF):
        return {}
    try:
        out = subprocess.run(
            [gdb, "-batch", "-nx", "-ex", "print sizeof(struct vm)", "-ex",
             "print sizeof(struct vcpu)", ELF], capture_output=True,
            text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    vals = [int(x) for x in re.findall(r"^\$\d+ = (\d+)$", out, re.M)]
    if len(vals) != 2:
        return {}
    vcpu_obj = (vals[1] + 63) // 64 * 64      # objcache_init(.., 64)
    return {"struct_vm": vals[0], "struct_vcpu": vals[1],
            "vcpu_object": vcpu_obj,
            "vcpus_per_slab_page": (4096 - 8) // vcpu_obj}


def analyse(b1, b3):
    per_vm = scale(sub(b3["before_start"], b1["before_start"]), 0.5)
    start1 = sub(b1["after_start"], b1["before_start"])
    start3 = sub(b3["after_start"], b3["before_start"])
    per_vcpu = scale(sub(start3, start1), 0.5)
    once = sub(start1, per_vcpu)
    owners = [k for k in per_vm if not k.startswith("_")]
    lamina = {k: per_vm[k] + per_vcpu[k] for k in owners
              if k not in EXCLUDED}
    return {"per_vm_created": per_vm, "per_vcpu": per_vcpu,
            "once_at_first_start": once, "start_1vm": start1,
            "start_3vm": start3,
            "per_1vcpu_vm_lamina": lamina,
            "per_1vcpu_vm_lamina_total": sum(lamina.values())}


def per_vm_total(a, sizes):
    """Bytes per one-vCPU VM against the goal, and its parts in words."""
    tot = a["per_1vcpu_vm_lamina_total"]
    parts = ", ".join(f"{k} {v / KIB:g}" for k, v in
                      a["per_1vcpu_vm_lamina"].items() if v)
    obj = sizes.get("vcpu_object", 0)
    if obj and not a["per_1vcpu_vm_lamina"].get("objcache"):
        # The slab page is shared: charge the vCPU its object.
        parts += f"; + its {obj}-byte vCPU object in a shared slab page"
        tot += obj
    return tot, parts


def lamina_sum(d):
    """Bytes of Lamina's own owners in a by-owner difference."""
    return sum(v for k, v in d.items()
               if not k.startswith("_") and k not in EXCLUDED)


def setup_figures(setup, a, sizes):
    def fig(name, v, note=None):
        return benchlib.figure(name, [int(v) if v == int(v) else v],
                               "bytes", setup, exact=True, note=note)
    tot, _ = per_vm_total(a, sizes)
    return [
        fig("footprint.per_vm_bytes", tot,
            f"goal < {GOAL} bytes; the vCPU's slab object counted, not "
            "its page" if sizes else f"goal < {GOAL} bytes"),
        fig("footprint.per_vm_created_bytes",
            lamina_sum(a["per_vm_created"])),
        fig("footprint.per_vcpu_bytes", lamina_sum(a["per_vcpu"]),
            "whole pages: slab pages shared by several vCPUs"),
        fig("footprint.stage2_per_vm_bytes",
            a["per_vm_created"].get("stage2", 0), "1 MiB of guest RAM"),
        fig("footprint.once_at_first_start_bytes",
            lamina_sum(a["once_at_first_start"])),
    ]


def checks(a, boots, sizes, setup):
    """Plain-language warnings where a figure looks wrong."""
    warn = []
    guest = a["per_vm_created"].get("guest", 0)
    if guest != 1024 * KIB:
        warn.append(f"guest RAM per VM is {guest / KIB:g} KiB, not the "
                    "1024 KiB each VM's config asks for")
    for k, v in a["per_vm_created"].items():
        if v != int(v):
            warn.append(f"'{k}' grew by an odd number of pages from 1 to 3 "
                        "VMs: the VMs do not cost the same")
    for n, b in boots.items():
        for name, end in b["ends"].items():
            if "stopped: debug-exit: the guest wrote 0x0" not in end:
                warn.append(f"{n}-VM boot: {end}")
    objc = a["per_vcpu"].get("objcache", 0)
    if sizes:
        per_page = sizes["vcpus_per_slab_page"]
        warn.append(f"objcache: a vCPU is a {sizes['vcpu_object']}-byte "
                    f"object (struct vcpu {sizes['struct_vcpu']} bytes), "
                    f"{per_page} to a 4 KiB slab page; `mem` shows whole "
                    f"pages, so the measured {objc / KIB:g} KiB per vCPU "
                    "is the page rounding of 2 more vCPUs, not their size")
        vm_pages = a["per_vm_created"].get("vm", 0)
        warn.append(f"vm: struct vm is {sizes['struct_vm']} bytes, "
                    f"allocated as whole pages ({vm_pages / KIB:g} KiB "
                    "per VM at the prompt)")
    for k in ("pagetables", "percpu", "trampoline"):
        if a["per_vm_created"].get(k) or a["per_vcpu"].get(k):
            warn.append(f"'{k}' changes with the number of VMs: "
                        "not expected, look at it")
    return warn


def render(report):
    lines = []
    for setup, r in report["setups"].items():
        if "skipped" in r:
            lines.append(f"{setup}: skipped: {r['skipped']}")
            continue
        a = r["analysis"]
        owners = [k for k in a["per_vm_created"] if not k.startswith("_")]
        lines.append(f"{setup}: {r['what']}")
        hdr = (f"  {'owner':11} {'1 VM':>8} {'3 VMs':>8} {'1 VM ran':>9} "
               f"{'3 VMs ran':>10} | {'per VM':>8} {'per vCPU':>9} "
               f"{'once':>8}")
        lines.append(hdr)
        lines.append("  " + "-" * (len(hdr) - 2))
        b1, b3 = r["boots"]["1"], r["boots"]["3"]

        def kib(v):
            return f"{v / KIB:g}"
        for k in owners + ["_lamina"]:
            name = "Lamina(mem)" if k == "_lamina" else k
            lines.append(
                f"  {name:11} {kib(b1['before_start'][k]):>8} "
                f"{kib(b3['before_start'][k]):>8} "
                f"{kib(b1['after_start'][k]):>9} "
                f"{kib(b3['after_start'][k]):>10} | "
                f"{kib(a['per_vm_created'][k]):>8} "
                f"{kib(a['per_vcpu'][k]):>9} "
                f"{kib(a['once_at_first_start'][k]):>8}")
        lines.append("  (KiB; 'ran' = after `start` of every VM and its "
                     "stop; per VM = created, no vCPU yet; once = the "
                     "first vCPU's start only; Lamina(mem) = mem's \"of "
                     "which Lamina\": stage2 included, guest RAM and "
                     "bootdata not)")
        tot, parts = per_vm_total(a, report["type_sizes"])
        verdict = "meets" if tot < GOAL else "MISSES"
        lines.append(f"  per one-vCPU VM besides its RAM and table pages: "
                     f"{tot / KIB:.3g} KiB ({parts}); goal < 64 KiB: "
                     f"{verdict}")
        st2 = a["per_vm_created"].get("stage2", 0)
        lines.append(f"  left out of that: guest RAM "
                     f"{a['per_vm_created'].get('guest', 0) / KIB:g} KiB "
                     f"and table pages {st2 / KIB:g} KiB per VM")
        once = {k: v for k, v in a["once_at_first_start"].items()
                if v and not k.startswith("_")}
        if once:
            lines.append("  once, at the first vCPU's start (shared by every "
                         "VM): " + ", ".join(f"{k} {v / KIB:g} KiB"
                                             for k, v in once.items()))
        for w in r["notes"]:
            lines.append(f"  note: {w}")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("setups", nargs="*", default=["qemu-bios", "bochs-vmx-4"])
    args = ap.parse_args()
    for s in args.setups:
        if s not in emu.SETUPS:
            ap.error(f"unknown setup {s!r}: {', '.join(emu.SETUPS)}")
    if not os.path.isfile(os.path.join(REPO, "build",
                                       "lamina-stripped.elf")):
        sys.exit("build/lamina-stripped.elf not found: run `make` first")
    os.makedirs(OUT, exist_ok=True)
    sizes = type_sizes()
    report = {"goal_bytes": GOAL, "type_sizes": sizes, "setups": {}}
    figures = []
    for setup in args.setups:
        s = emu.SETUPS[setup]
        try:
            emu.check_available(setup)
        except emu.MissingDependency as e:
            report["setups"][setup] = {"skipped": str(e)}
            continue
        if s.cpus < 4:
            report["setups"][setup] = {
                "skipped": f"needs 4 CPUs (VMs on pCPUs 1-3), {setup} has "
                           f"{s.cpus}"}
            continue
        boots = {n: one_boot(setup, n) for n in (1, 3)}
        a = analyse(boots[1], boots[3])
        report["setups"][setup] = {
            "what": s.what, "boots": {str(n): b for n, b in boots.items()},
            "analysis": a, "notes": checks(a, boots, sizes, setup)}
        figures += setup_figures(setup, a, sizes)
    text = render(report)
    benchlib.save("vm_footprint", figures, text, **report)
    print(text, end="")


if __name__ == "__main__":
    main()
