"""What every bench program shares: the machine a figure was taken on, a
figure's median and spread over its runs, and the result file that
bench/report.py gathers into build/bench/report.{txt,json}.

A result file is build/bench/NAME.json:

    {"bench": NAME, "command": "bench/NAME.py ...", "machine": {...},
     "figures": [FIGURE, ...], ...anything else the program keeps}

and a FIGURE is one number with its runs:

    {"name": "exit.cpuid", "setup": "qemu-bios", "vendor": "svm",
     "backing": "emulated" | "hardware" | "host",
     "unit": "instructions" | "s" | "ms" | "us" | "KiB" | "bytes"
             | "exits" | "pages" | "ratio" | ...,
     "exact": true when every run gives the same number by construction
              (instruction counts under icount/Bochs, page counts),
     "median": m, "min": lo, "max": hi, "n": runs, "values": [...],
     "note": "optional, one line"}

Emulated timings compare only as ratios and only with figures from the
same host; "backing" says which kind a figure is.
"""

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# Results go to build/bench, or where LAMINA_BENCH_OUT says: the test suite
# runs bench programs' short modes there, so a `make test` leaves the last
# `make bench`'s results alone.
OUT = os.environ.get("LAMINA_BENCH_OUT") or os.path.join(REPO, "build", "bench")
sys.path.insert(0, os.path.join(REPO, "tools"))
import emu  # noqa: E402


def _first_line(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True,
                             timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0].strip() if text else None


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _bochs_version():
    """Bochs prints its banner only when it runs; dpkg knows the version."""
    v = _first_line(["dpkg-query", "-W", "-f", "${Version}", "bochs"])
    return f"Bochs {v} (Debian)" if v else None


def commit():
    c = _first_line(["git", "-C", REPO, "describe", "--always", "--dirty",
                     "--abbrev=12"])
    return c or "unknown"


def machine():
    """The host, its emulators and whether QEMU may use hardware KVM."""
    kvm, why = emu.kvm_status()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc)
        .strftime("%Y-%m-%dT%H:%M:%SZ"),
        "host": platform.node(),
        "cpu_model": _cpu_model(),
        "host_cpus": os.cpu_count(),
        "host_kernel": platform.release(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "qemu": _first_line([emu.QEMU, "--version"]),
        "bochs": _bochs_version(),
        "accelerator": "kvm" if kvm else "tcg (SVM) and Bochs (VMX)",
        "kvm_reason": why,
        "lamina_commit": commit(),
    }


def backing(setup):
    """'hardware' for a QEMU setup that runs with -accel kvm here, else
    'emulated' (QEMU TCG or Bochs)."""
    s = emu.SETUPS.get(setup)
    if s is not None and s.emulator == "qemu" and emu.kvm_status()[0]:
        return "hardware"
    return "emulated"


def vendor(setup):
    """'vmx' or 'svm': what Lamina drives in that setup."""
    s = emu.SETUPS.get(setup)
    if s is None:
        return None
    if s.emulator == "bochs":
        return "svm" if "svm" in setup else "vmx"
    return "svm"  # QEMU TCG offers only SVM; under KVM, the host's


def figure(name, values, unit, setup=None, exact=False, note=None,
           backing_=None, vendor_=None):
    """One figure from its runs' values (numbers)."""
    vals = [v for v in values if v is not None]
    if not vals:
        raise ValueError(f"figure {name}: no values")
    f = {"name": name, "unit": unit, "exact": exact,
         "median": statistics.median(vals), "min": min(vals),
         "max": max(vals), "n": len(vals), "values": vals}
    if setup:
        f["setup"] = setup
        f["backing"] = backing_ or backing(setup)
        f["vendor"] = vendor_ or vendor(setup)
    else:
        f["backing"] = backing_ or "host"
        if vendor_:
            f["vendor"] = vendor_
    if note:
        f["note"] = note
    return f


def spread(f):
    """'m' for an exact or single figure, else 'm (lo-hi, n=N)'."""
    def num(x):
        return f"{x:g}" if isinstance(x, (int, float)) else str(x)
    if f["exact"] or f["n"] == 1 or f["min"] == f["max"]:
        return num(f["median"])
    return f"{num(f['median'])} ({num(f['min'])}-{num(f['max'])}, n={f['n']})"


def save(bench, figures, text=None, command=None, **extra):
    """Write build/bench/BENCH.json (and BENCH.txt when text is given)."""
    os.makedirs(OUT, exist_ok=True)
    data = {"bench": bench,
            "command": command or " ".join(["bench/" + os.path.basename(
                sys.argv[0])] + sys.argv[1:]),
            "machine": machine(), "figures": figures}
    data.update(extra)
    with open(os.path.join(OUT, f"{bench}.json"), "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    if text is not None:
        with open(os.path.join(OUT, f"{bench}.txt"), "w") as f:
            f.write(text if text.endswith("\n") else text + "\n")
    return data
