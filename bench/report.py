#!/usr/bin/python3
"""One benchmark report from every bench program's result file.

Gathers each build/bench/*.json that has "figures" (bench/benchlib.py's
format) into

    build/bench/report.json   {"machine": the newest file's, "warnings":
                              [...], "benches": [{"bench", "command",
                              "file", "date", "lamina_commit", "figures"},
                              ...], "plot": {...}, "not_included": [...]}
    build/bench/report.txt    the machine (date, host CPU model and count,
                              QEMU and Bochs versions, accelerator, Lamina
                              commit), then a table per bench: figure,
                              setup/vendor, median, spread, unit, backing;
                              then Lamina / KVM per exit kind and vendor
    build/bench/exit_costs.svg  instructions per exit round trip by exit
                              kind (cpuid, io, msr, hypercall, npf), one
                              bar per hypervisor and vendor, log scale;
                              gnuplot with bench/exit_costs.gp

The plot's series, where their figures are there (a missing one is left
out and said, never made up):

    Lamina SVM   exit.<kind>       setup qemu-bios      (bench exit_cost)
    Lamina VMX   exit.<kind>       setup bochs-vmx      (bench exit_cost)
    KVM SVM      kvm.exit.<kind>   setup kvm-qemu-svm   (bench kvm_peer)
    KVM VMX      kvm.exit.<kind>   setup kvm-bochs-vmx  (bench kvm_peer)

The files may come from different runs: where they disagree on the
Lamina commit or the host, the report says so at its top.

    bench/report.py [--dir DIR] [--copy-docs [--docs DOCS]]

--dir: where the result files are and the report goes (default
build/bench). --copy-docs: copy report.txt and exit_costs.svg to DOCS
(default docs/perf/), which docs/performance.md shows.
"""

import argparse
import datetime
import glob
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
OUT = os.path.join(REPO, "build", "bench")
DOCS = os.path.join(REPO, "docs", "perf")
GNUPLOT_SCRIPT = os.path.join(HERE, "exit_costs.gp")
SVG = "exit_costs.svg"
OWN = ("report.json",)          # this program's output, never an input
KINDS = ("cpuid", "io", "msr", "hypercall", "npf")
# (title, figure name prefix, setup, bench that makes it, colour)
SERIES = (
    ("Lamina SVM", "exit.", "qemu-bios", "exit_cost", "#1f77b4"),
    ("Lamina VMX", "exit.", "bochs-vmx", "exit_cost", "#2ca02c"),
    ("KVM SVM", "kvm.exit.", "kvm-qemu-svm", "kvm_peer", "#ff7f0e"),
    ("KVM VMX", "kvm.exit.", "kvm-bochs-vmx", "kvm_peer", "#d62728"),
)


def load(d):
    """(result files with figures, newest first; [(file, why not)])."""
    found, skipped = [], []
    for path in sorted(glob.glob(os.path.join(d, "*.json"))):
        name = os.path.basename(path)
        if name in OWN:
            continue
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            skipped.append((name, f"unreadable: {e}"))
            continue
        if not isinstance(data, dict) or \
                not isinstance(data.get("figures"), list):
            skipped.append((name, "no \"figures\" (not bench/benchlib.py's "
                                  "format: an older program or run)"))
            continue
        data["_file"] = name
        data["_mtime"] = os.path.getmtime(path)
        found.append(data)
    found.sort(key=lambda x: ((x.get("machine") or {}).get("date") or "",
                              x["_mtime"]), reverse=True)
    return found, skipped


def warnings(results):
    """Lines where the files disagree on the commit or the host."""
    out = []
    for key, what in (("lamina_commit", "Lamina commit"),
                      ("host", "host"), ("cpu_model", "host CPU")):
        seen = {}
        for r in results:
            v = (r.get("machine") or {}).get(key)
            seen.setdefault(v, []).append(r["_file"])
        if len(seen) > 1:
            out.append(f"WARNING: the results disagree on the {what}: " +
                       "; ".join(f"{v}: {', '.join(files)}"
                                 for v, files in seen.items()))
    return out


def num(x, full=False):
    """A median as the table shows it: an exact figure in full."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    if full:
        return f"{x:.10g}"
    if abs(x) >= 1000:
        return f"{x:.0f}"
    return f"{x:.4g}"


def spread_text(f):
    if f.get("exact"):
        same = f.get("min") == f.get("max")
        return (f"exact, n={f.get('n', 1)}" if same else
                f"exact? {num(f['min'])}-{num(f['max'])}, n={f['n']}")
    if f.get("n", 1) <= 1:
        return "n=1"
    return f"{num(f['min'])}-{num(f['max'])}, n={f['n']}"


def where(f):
    s = f.get("setup") or "-"
    v = f.get("vendor")
    return f"{s}/{v}" if v else s


def bench_table(r):
    figs = r["figures"]
    rows = [(f.get("name", "?"), where(f),
             num(f.get("median"), full=f.get("exact")),
             spread_text(f), f.get("unit", ""), f.get("backing", ""))
            for f in figs]
    head = ("figure", "setup/vendor", "median", "spread (min-max)", "unit",
            "backing")
    widths = [max(len(str(x[i])) for x in rows + [head])
              for i in range(len(head))]

    def line(x):
        cells = [f"{x[0]:<{widths[0]}}", f"{x[1]:<{widths[1]}}",
                 f"{x[2]:>{widths[2]}}", f"{x[3]:<{widths[3]}}",
                 f"{x[4]:<{widths[4]}}", f"{x[5]}"]
        return "  " + "  ".join(cells).rstrip()
    out = [line(head), "  " + "-" * (sum(widths) + 2 * (len(widths) - 1))]
    out += [line(x) for x in rows]
    notes = {}
    for f in figs:
        if f.get("note"):
            notes.setdefault(f["note"], []).append(f["name"])
    for note, names in notes.items():
        names = list(dict.fromkeys(names))
        which = ", ".join(names)
        if len(names) > 2:
            common = os.path.commonprefix(names)
            common = common[:common.rfind(".") + 1]
            if common:
                which = f"{common}* ({len(names)} figures)"
        out.append(f"  note, {which}: {note}")
    return out


def machine_lines(m, results):
    def v(key, default="unknown"):
        return m.get(key) or default
    acc = v("accelerator")
    if m.get("kvm_reason"):
        acc += f" (KVM: {m['kvm_reason']})"
    dates = sorted((r.get("machine") or {}).get("date") or ""
                   for r in results)
    return [
        f"date         {v('date')} (newest result; oldest {dates[0]})",
        f"host         {v('cpu_model')}, {v('host_cpus', '?')} CPUs "
        f"({v('host')}, Linux {v('host_kernel')}; load average "
        f"{', '.join(str(x) for x in m.get('loadavg') or [])})",
        f"QEMU         {v('qemu', 'not found')}",
        f"Bochs        {v('bochs', 'not found')}",
        f"accelerator  {acc}",
        f"Lamina       {v('lamina_commit')}",
    ]


# ---------------------------------------------------------------- plot

def series_values(results):
    """[(title, colour, {kind: value}, source)] for the series there are;
    [note] for those missing or partial."""
    have, notes, short = [], [], []
    for title, prefix, setup, bench, colour in SERIES:
        vals, src = {}, None
        for r in results:                  # newest first
            for f in r["figures"]:
                name = f.get("name", "")
                if not name.startswith(prefix) or f.get("setup") != setup:
                    continue
                kind = name[len(prefix):]
                if kind in KINDS and kind not in vals:
                    vals[kind] = f["median"]
                    src = src or r["_file"]
        if not vals:
            notes.append(f"{title} ({prefix}<kind>, setup {setup}): no "
                         f"figures (bench {bench} not run here)")
            short.append(f"{title}: not measured here (no {prefix}* "
                         f"figures for setup {setup})")
            continue
        missing = [k for k in KINDS if k not in vals]
        if missing:
            notes.append(f"{title}: no {', '.join(missing)} figure")
            short.append(notes[-1])
        have.append((title, colour, vals, src))
    return have, notes, short


def gp_string(s):
    """A gnuplot double-quoted string: "\\n" in it breaks a label's line."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') \
        .replace("\n", "\\n") + '"'


def plot(d, results, machine):
    """Write DIR/exit_costs.dat and DIR/exit_costs.svg: the plot's record."""
    have, notes, plot_notes = series_values(results)
    rec = {"file": SVG, "series": [{"title": t, "source": src, "values": v}
                                   for t, _, v, src in have],
           "notes": notes}
    if not have:
        rec["file"] = None
        rec["notes"].append("no plot: no exit-cost figures at all")
        return rec
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        rec["file"] = None
        rec["notes"].append("no plot: gnuplot not found (apt-get install "
                            "gnuplot-nox)")
        return rec
    dat = os.path.join(d, "exit_costs.dat")
    with open(dat, "w") as f:
        f.write("kind " + " ".join(f'"{t}"' for t, _, _, _ in have) + "\n")
        for k in KINDS:
            f.write(k + " " + " ".join(
                num(v[k]) if k in v else "?" for _, _, v, _ in have) + "\n")
    backings = sorted({f.get("backing", "?") for r in results
                       for f in r["figures"]
                       if f.get("name", "").startswith(("exit.", "kvm.exit."))})
    subtitle = (f"Lamina {machine.get('lamina_commit', '?')}, "
                f"{(machine.get('date') or '')[:10]}, host "
                f"{machine.get('cpu_model', '?')}; {'/'.join(backings)}")
    note = "\n".join(plot_notes)
    args = (f"datafile={gp_string(dat)}; "
            f"outfile={gp_string(os.path.join(d, SVG))}; "
            f"nseries={len(have)}; nkinds={len(KINDS)}; "
            f"subtitle={gp_string(subtitle)}; note={gp_string(note)}; "
            f"notelines={len(plot_notes)}; "
            f"colours={gp_string(' '.join(c for _, c, _, _ in have))}")
    p = subprocess.run([gnuplot, "-e", args, GNUPLOT_SCRIPT],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        rec["file"] = None
        rec["notes"].append("no plot: gnuplot failed: " +
                            (p.stderr.strip().splitlines() or ["?"])[-1])
    return rec


def peer_ratios(rec):
    """{vendor: {kind: Lamina / KVM}} from the plot's series, where both
    are there: the issue's "report Lamina/KVM per exit kind and vendor"."""
    vals = {sr["title"]: sr["values"] for sr in rec["series"]}
    out = {}
    for vendor in ("SVM", "VMX"):
        lam, kvm = vals.get(f"Lamina {vendor}"), vals.get(f"KVM {vendor}")
        if lam and kvm:
            out[vendor.lower()] = {k: round(lam[k] / kvm[k], 3) for k in KINDS
                                   if k in lam and kvm.get(k)}
    return out


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=OUT,
                    help="result files and report (default build/bench)")
    ap.add_argument("--copy-docs", action="store_true",
                    help="copy report.txt and exit_costs.svg to --docs")
    ap.add_argument("--docs", default=DOCS, help="default docs/perf")
    args = ap.parse_args()
    d = os.path.abspath(args.dir)
    results, skipped = load(d)
    if not results:
        sys.exit(f"report.py: no result file with figures in {d}: run "
                 "`make bench` (or a bench/*.py) first")
    machine = results[0].get("machine") or {}
    warn = warnings(results)
    svg = os.path.join(d, SVG)
    if os.path.exists(svg):
        os.unlink(svg)                  # never a stale plot
    rec = plot(d, results, machine)

    order = sorted(results, key=lambda r: r.get("bench", ""))
    lines = ["Lamina benchmark report (bench/report.py)", ""]
    lines += machine_lines(machine, results) + warn + [""]
    lines.append("median: of the runs (n); spread: their minimum-maximum; "
                 "exact: the same in every run by construction (counts "
                 "under icount/Bochs, page counts); backing: emulated "
                 "(QEMU TCG, Bochs), hardware or host. Emulated times "
                 "compare only as ratios, on one host.")
    for r in order:
        m = r.get("machine") or {}
        lines += ["", f"== {r.get('bench')} ({r['_file']}, "
                  f"{m.get('date', '?')}, {m.get('lamina_commit', '?')})",
                  f"   {r.get('command', '?')}"]
        lines += bench_table(r) if r["figures"] else ["  (no figures)"]
    lines += ["", "== plot: instructions per exit round trip, "
              f"{rec['file'] or 'not made'}"]
    for s in rec["series"]:
        lines.append(f"  {s['title']:11} " + ", ".join(
            f"{k} {num(s['values'][k])}" for k in KINDS
            if k in s["values"]) + f"  ({s['source']})")
    lines += [f"  note: {n}" for n in rec["notes"]]
    ratios = peer_ratios(rec)
    lines += ["", "== Lamina / KVM, instructions per exit round trip "
              "(lower: Lamina cheaper)"]
    for vendor, r in ratios.items():
        lines.append(f"  {vendor}  " + ", ".join(
            f"{k} {r[k]:.3f}" for k in KINDS if k in r))
    if not ratios:
        lines.append("  none: no vendor has both Lamina's and KVM's figures")
    if skipped:
        lines += ["", "not included:"] + [f"  {n}: {why}"
                                          for n, why in skipped]
    text = "\n".join(lines) + "\n"

    report = {
        "report": "bench/report.py",
        "generated": datetime.datetime.now(datetime.timezone.utc)
        .strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine, "warnings": warn,
        "benches": [{"bench": r.get("bench"), "command": r.get("command"),
                     "file": r["_file"],
                     "date": (r.get("machine") or {}).get("date"),
                     "lamina_commit":
                     (r.get("machine") or {}).get("lamina_commit"),
                     "figures": r["figures"]} for r in order],
        "plot": rec,
        "lamina_over_kvm": ratios,
        "not_included": [{"file": n, "why": why} for n, why in skipped],
    }
    with open(os.path.join(d, "report.json"), "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    with open(os.path.join(d, "report.txt"), "w") as f:
        f.write(text)
    print(text, end="")
    if args.copy_docs:
        os.makedirs(args.docs, exist_ok=True)
        shutil.copyfile(os.path.join(d, "report.txt"),
                        os.path.join(args.docs, "report.txt"))
        dst = os.path.join(args.docs, SVG)
        if rec["file"]:
            shutil.copyfile(svg, dst)
        elif os.path.exists(dst):
            os.unlink(dst)              # the docs show no stale plot
        print(f"copied report.txt{' and ' + SVG if rec['file'] else ''} "
              f"to {os.path.relpath(args.docs, REPO)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
