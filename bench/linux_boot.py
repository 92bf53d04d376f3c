#!/usr/bin/python3
"""Linux boot time under Lamina, against the same boot with no hypervisor.

One run, side by side, alternating (Lamina, then direct, N times):

 (a) Lamina in QEMU TCG (tools/emu.py setup qemu-linux: 4 CPUs, 768 MiB,
     SVM+NPT) with bench/configs/linux-boot-N.yaml: the VM 'tux' alone,
     N vCPUs, 512 MiB, Debian's kernel and the busybox initramfs of
     `make linux-guest`. After `start tux` the guest's console lines come
     through Lamina's log ("vm: vm 'tux' console: ...").
 (b) The same bzImage and initramfs straight in QEMU TCG, N CPUs, 512 MiB,
     through bench/linux_direct.py's one_run() (imported, not copied).

What is compared is the host time from the kernel's first output line
("Linux version ...", printed once its early console is up, after the
decompressor) to the initramfs's marker "LAMINA-LINUX-READY <release>
cpus=<n>": the kernel's own boot and /init, without the firmware, GRUB,
Lamina's boot or `start`. Both guests get the same command line: the
config's, to which Lamina appends tsc_early_khz=<its TSC rate>; the
direct run gets that same value, read from the guest's "Command line:"
line of the Lamina run before it (the two are checked to be equal).

Also recorded: (a) from `start tux` to the marker and (b) from QEMU's
start to the marker (SeaBIOS included); Lamina's own log clock between
the two lines, as a cross-check of the host's; and the exits by kind
(`stats tux`, read right after the marker) of each Lamina boot.

    bench/linux_boot.py [--runs N] [--smp N]      (default: 3 runs, 1 vCPU)

Needs `make` (build/lamina-stripped.elf, build/lamina-cfg) and `make
linux-guest`. Writes build/bench/linux_boot.json and linux_boot.txt
(linux_boot-smp2.json and .txt with --smp 2), the host's load average
before and after included: other emulators running beside it slow both;
serial logs in build/test-logs/bench-linux-boot-*/ (Lamina, one per boot)
and build/test-logs/bench-linux-boot-direct/ (direct). Times are emulated
boots on a shared host: compare only figures taken on the same machine,
and read the spread.

The JSON's "figures" (bench/benchlib.py; P is the file's name with _ for
-, e.g. linux_boot, linux_boot_pvh, linux_boot_smp2):

    P.lamina.first_to_marker_s      qemu-linux (Lamina, SVM+NPT)
    P.direct.first_to_marker_s      setup "qemu-tcg-direct" (no Lamina)
    overhead.P                      Lamina / direct, "ratio": one value per
                                    pair of runs (the text's ratio is of
                                    the medians)
    P.lamina.start_to_marker_s      from `start tux`
    P.direct.start_to_marker_s      from QEMU's start (SeaBIOS included)
    P.lamina.log_clock_first_to_marker_s   Lamina's own clock
    P.exits.<kind>, P.exits.total   exits to the marker (and `stats`),
                                    the kinds that are not 0
"""

import argparse
import builtins
import contextlib
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
from conftest import ELF, booted  # noqa: E402  (puts tools/ on sys.path)
import benchlib  # noqa: E402
import emu  # noqa: E402
import linux_direct  # noqa: E402

OUT = os.path.join(REPO, "build", "bench")
LOGROOT = os.path.join(REPO, "build", "test-logs")
DIRECT_LOGS = os.path.join(LOGROOT, "bench-linux-boot-direct")
# (vCPUs, entry): the bzImage through the 64-bit boot protocol, or the
# vmlinux through PVH (--pvh).
CONFIGS = {(n, pvh): os.path.join(HERE, "configs", f"linux-boot-{n}"
                                  f"{'-pvh' if pvh else ''}.yaml")
           for n in (1, 2) for pvh in (False, True)}
PVH = False  # --pvh
SETUP = "qemu-linux"
DIRECT_SETUP = "qemu-tcg-direct"  # a figure's setup: not one of emu.py's
VM = "tux"
KINDS = ("cpuid", "io", "hlt", "msr", "npf", "hypercall", "shutdown",
         "other")

# A guest line in Lamina's log: "[  14.166805] vm: vm 'tux' console: TEXT".
# Lamina logs at most 119 characters of a line at a time (a longer one
# goes on in the next log line).
LOG_LINE = rf"\[\s*(\d+\.\d+)\] vm: vm '{VM}' console: "
LOG_PIECE_MAX = 119
# Each ends in white space: pexpect matches what has come so far, and
# "Linux version 6." must not pass for a release.
FIRST_LINE = r"Linux version (\S+)\s"
MARKER = linux_direct.MARKER + r"\s"   # "LAMINA-LINUX-READY (\S+) cpus=(\d+)"
LAMINA_FIRST = re.compile(LOG_LINE + r"[^\r\n]*?" + FIRST_LINE)
LAMINA_MARKER = re.compile(LOG_LINE + r"[^\r\n]*?" + MARKER)
STARTED = re.compile(rf"vm '{VM}' started on pCPU[^\r\n]*")
START_ERROR = re.compile(rf"error: cannot start '{VM}'[^\r\n]*")
TSC_LINE = re.compile(r"time: TSC (\d+)\.(\d{3}) MHz")

# Time limits, seconds. Under TCG on a loaded 2-core host the first line
# came 5-18 s after `start` and the marker 8-18 s after that.
FIRST_LINE_TIMEOUT = 240
MARKER_TIMEOUT = 480
STATS_TIMEOUT = 30


class LaminaRunError(Exception):
    pass


# ---------------------------------------------------------------- Lamina

def guest_output(text):
    """The guest's console output, rebuilt from Lamina's log lines (a piece
    of LOG_PIECE_MAX characters goes on in the next one)."""
    out = []
    for m in re.finditer(LOG_LINE + r"([^\r\n]*)", text):
        piece = m.group(2)
        out.append(piece if len(piece) >= LOG_PIECE_MAX else piece + "\n")
    return "".join(out)


def parse_stats(text):
    """`stats tux`'s reply: exits by kind, console bytes, irqchip lines."""
    st = {"exits": {}}
    for k in KINDS:
        m = re.search(rf"(?m)^\s+{k}\s+(\d+)\r?$", text)
        st["exits"][k] = int(m.group(1)) if m else None
    st["total"] = sum(v or 0 for v in st["exits"].values())
    m = re.search(r"console\s+(\d+) bytes \((\d+) dropped\)", text)
    if m:
        st["console_bytes"], st["console_dropped"] = map(int, m.groups())
    m = re.search(r"unclaimed\s+(\d+) port accesses(?: \(the last at "
                  r"(0x[0-9a-f]+)\))?", text)
    if m:
        st["unclaimed_port_accesses"] = int(m.group(1))
        if m.group(2):
            st["unclaimed_last_port"] = m.group(2)
    st["irqchip"] = [ln.strip() for ln in text.replace("\r", "").split("\n")
                     if re.match(r"\s+(apic|ioapic|ipis)\s", ln)]
    m = re.search(r"ipis\s+(\d+) delivered, (\d+) named no vCPU", text)
    if m:
        st["ipis_delivered"], st["ipis_named_no_vcpu"] = map(int, m.groups())
    return st


def lamina_expect(con, pattern, timeout):
    """Wait for `pattern`; (host time it came, match, text before it)."""
    con.expect(pattern, timeout)
    return time.monotonic(), con.machine.child.match, con.machine.child.before


def lamina_boot(con, smp):
    """`start tux` at the prompt, to the marker and `stats tux`."""
    tsc = TSC_LINE.search(con.lamina_text())
    con.type(f"start {VM}\r")
    t_start = time.monotonic()  # the CR that runs the command has gone
    t_first, m, before = lamina_expect(con, LAMINA_FIRST, FIRST_LINE_TIMEOUT)
    if START_ERROR.search(before) or not STARTED.search(before):
        raise LaminaRunError("no 'started' reply to `start tux`: " +
                             before.strip().replace("\r\n", " | ")[-300:])
    lam_first, release = float(m.group(1)), m.group(2)
    t_marker, m, before = lamina_expect(con, LAMINA_MARKER, MARKER_TIMEOUT)
    lam_marker, cpus = float(m.group(1)), int(m.group(3))
    raw = con.run_raw(f"stats {VM}", STATS_TIMEOUT)
    t_stats = time.monotonic()
    guest = guest_output(before)
    cmd = re.search(r"Command line: ([^\n]*)", guest)
    r = {
        "release": release, "cpus": cpus,
        "start_to_first_s": round(t_first - t_start, 3),
        "first_to_marker_s": round(t_marker - t_first, 3),
        "start_to_marker_s": round(t_marker - t_start, 3),
        "lamina_clock_first_to_marker_s": round(lam_marker - lam_first, 3),
        "stats_after_marker_s": round(t_stats - t_marker, 3),
        "cmdline": cmd.group(1).strip() if cmd else None,
        "tsc_khz": int(tsc.group(1)) * 1000 + int(tsc.group(2))
        if tsc else None,
        "stats": parse_stats(raw),
    }
    # A boot that ends with fewer CPUs is no sample: said, with its stats.
    if m.group(2) != release or cpus != smp:
        smpboot = re.findall(r"[^\n]*(?:smpboot|CPU#?\d+)[^\n]*fail[^\n]*",
                             guest)
        r["error"] = (f"the marker says {m.group(2)} cpus={cpus}, expected "
                      f"{release} cpus={smp}" +
                      "".join(f"; guest: {ln.strip()}" for ln in smpboot))
    return r


def lamina_run(i, smp):
    """One Lamina boot: a result dict, or {"error": ...}."""
    logname = f"bench-linux-boot-{smp}cpu-{i}"
    try:
        with booted(SETUP, logname=logname, config=CONFIGS[smp, PVH]) as con:
            if con.broken:
                raise LaminaRunError("no prompt: " +
                                     str(con.broken).split("\n")[0])
            r = lamina_boot(con, smp)
    except (emu.EmuError, LaminaRunError) as e:
        return {"error": str(e).split("\n")[0],
                "log": os.path.join(LOGROOT, logname, "serial.log")}
    r["log"] = os.path.join(LOGROOT, logname, "serial.log")
    return r


# ---------------------------------------------------------------- direct

class StampedLog:
    """A serial log that remembers when each piece of it arrived: pexpect
    writes what it reads to its logfile_read at once, before matching."""

    def __init__(self, path, mode="w"):
        self._f = builtins.open(path, mode)
        self.name = path
        self.opened = time.monotonic()
        self.pieces, self.ends = [], []  # (text, [(end offset, time)])
        self._n = 0

    def write(self, s):
        t = time.monotonic()
        self._f.write(s)
        self.pieces.append(s)
        self._n += len(s)
        self.ends.append((self._n, t))

    def flush(self):
        self._f.flush()

    def close(self):
        self._f.close()

    def text(self):
        return "".join(self.pieces)

    def time_of(self, offset):
        """When the character before `offset` arrived."""
        return next(t for end, t in self.ends if end >= offset)


@contextlib.contextmanager
def stamped_direct_logs():
    """linux_direct.one_run() opens its serial log with the builtin open();
    here, a StampedLog instead, under build/test-logs/bench-linux-boot-
    direct/, so its first-line and marker times can be read afterwards."""
    logs = []

    def stamped_open(path, mode="r", *args, **kwargs):
        logs.append(StampedLog(path, mode))
        return logs[-1]

    saved = linux_direct.LOGS
    linux_direct.LOGS = DIRECT_LOGS
    linux_direct.open = stamped_open
    try:
        yield logs
    finally:
        del linux_direct.open
        linux_direct.LOGS = saved


def direct_run(i, smp, append):
    """One boot through linux_direct.one_run(): a result dict, or
    {"error": ...} (one_run() exits on a timeout; that is caught here)."""
    os.makedirs(DIRECT_LOGS, exist_ok=True)
    with stamped_direct_logs() as logs:
        try:
            r = linux_direct.one_run(i, smp, append)
        except SystemExit as e:
            return {"error": str(e), "log": logs[-1].name if logs else None}
    log = logs[-1]
    text = log.text()
    first = re.search(FIRST_LINE, text)
    marker = re.search(MARKER, text)
    cmd = re.search(r"Command line: ([^\r\n]*)", text)
    if not first or not marker:
        return {"error": "no 'Linux version' line or marker in the log",
                "log": log.name}
    t_first, t_marker = log.time_of(first.end()), log.time_of(marker.end())
    return {"release": r["release"], "cpus": r["cpus"],
            "qemu_start_to_first_s": round(t_first - log.opened, 3),
            "first_to_marker_s": round(t_marker - t_first, 3),
            "qemu_start_to_marker_s": r["boot_s"],
            "poweroff_s": r["poweroff_s"],
            "cmdline": cmd.group(1).strip() if cmd else None,
            "log": log.name}


# ---------------------------------------------------------------- report

def summary(values):
    if not values:
        return None
    med = statistics.median(values)
    return {"median": round(med, 3), "min": min(values), "max": max(values),
            "spread": round(max(values) - min(values), 3),
            "spread_pct": round(100 * (max(values) - min(values)) / med, 1)
            if med else None, "n": len(values)}


def fmt(s):
    if not s:
        return "no successful run"
    return (f"{s['median']:7.2f} s  (min {s['min']:.2f}, max {s['max']:.2f}, "
            f"spread {s['spread']:.2f} s = {s['spread_pct']:.0f}%, "
            f"{s['n']} runs)")


def collect(lam, direct, smp, nruns, load_before):
    ok_l = [r for r in lam if "error" not in r]
    ok_d = [r for r in direct if "error" not in r]
    res = {
        "what": "host seconds from the kernel's first output line ('Linux "
                "version ...') to the marker 'LAMINA-LINUX-READY', Debian's "
                "kernel and the busybox initramfs, QEMU TCG; (a) under "
                f"Lamina ({SETUP}, SVM+NPT), (b) directly in QEMU "
                "(bench/linux_direct.py). Firmware, GRUB, Lamina's boot and "
                "`start` are not counted.",
        "command": " ".join(["bench/linux_boot.py"] + sys.argv[1:]),
        "host_cpus": os.cpu_count(), "smp": smp, "runs_requested": nruns,
        "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
        "kernel": (ok_l or ok_d or [{}])[0].get("release"),
        "config": os.path.relpath(CONFIGS[smp, PVH], REPO),
        "lamina": {"runs": lam},
        "direct": {"runs": direct, "qemu": "-machine pc -accel tcg -cpu "
                   f"qemu64 -smp {smp} -m 512 (bench/linux_direct.py)"},
    }
    for key, runs, fields in (
            ("lamina", ok_l, ("first_to_marker_s", "start_to_marker_s",
                              "start_to_first_s",
                              "lamina_clock_first_to_marker_s")),
            ("direct", ok_d, ("first_to_marker_s", "qemu_start_to_marker_s",
                              "qemu_start_to_first_s"))):
        for f in fields:
            res[key][f] = summary([r[f] for r in runs])
    sl = res["lamina"]["first_to_marker_s"]
    sd = res["direct"]["first_to_marker_s"]
    res["ratio_lamina_over_direct"] = \
        round(sl["median"] / sd["median"], 2) if sl and sd else None
    res["same_cmdline"] = all(
        rl.get("cmdline") and rl.get("cmdline") == rd.get("cmdline")
        for rl, rd in zip(lam, direct)
        if "error" not in rl and "error" not in rd)
    res["exits_median"] = None
    if ok_l:
        res["exits_median"] = {
            k: statistics.median([r["stats"]["exits"][k] or 0 for r in ok_l])
            for k in KINDS}
        res["exits_median"]["total"] = statistics.median(
            [r["stats"]["total"] for r in ok_l])
    return res


def figures(res, prefix):
    """The figures of one run of this program (benchlib.figure)."""
    ok_l = [r for r in res["lamina"]["runs"] if "error" not in r]
    ok_d = [r for r in res["direct"]["runs"] if "error" not in r]
    figs = []

    def add(name, runs, key, setup, unit="s", note=None):
        vals = [r[key] for r in runs if r.get(key) is not None]
        if vals:
            figs.append(benchlib.figure(
                name, vals, unit, setup, note=note,
                backing_="emulated" if setup == DIRECT_SETUP else None))
    add(f"{prefix}.lamina.first_to_marker_s", ok_l, "first_to_marker_s",
        SETUP, note="host time, 'Linux version' line to the marker")
    add(f"{prefix}.direct.first_to_marker_s", ok_d, "first_to_marker_s",
        DIRECT_SETUP, note="the same kernel straight in QEMU TCG")
    pairs = [rl["first_to_marker_s"] / rd["first_to_marker_s"]
             for rl, rd in zip(res["lamina"]["runs"], res["direct"]["runs"])
             if "error" not in rl and "error" not in rd
             and rd["first_to_marker_s"]]
    if pairs:
        figs.append(benchlib.figure(
            f"overhead.{prefix}", [round(x, 3) for x in pairs], "ratio",
            SETUP, note="Lamina / direct, first line to marker, per pair "
            f"of runs; ratio of the medians {res['ratio_lamina_over_direct']}"))
    add(f"{prefix}.lamina.start_to_marker_s", ok_l, "start_to_marker_s",
        SETUP, note="from `start tux`")
    add(f"{prefix}.direct.start_to_marker_s", ok_d, "qemu_start_to_marker_s",
        DIRECT_SETUP, note="from QEMU's start, SeaBIOS included")
    add(f"{prefix}.lamina.log_clock_first_to_marker_s", ok_l,
        "lamina_clock_first_to_marker_s", SETUP, note="Lamina's own clock")
    for k in KINDS + ("total",):
        vals = [r["stats"]["total"] if k == "total"
                else r["stats"]["exits"][k] or 0 for r in ok_l]
        if any(vals):
            figs.append(benchlib.figure(
                f"{prefix}.exits.{k}", vals, "exits", SETUP,
                note="to the marker (`stats tux` about 0.2 s later)"
                if k == "total" else None))
    return figs


def render(res):
    smp, lam, dr = res["smp"], res["lamina"], res["direct"]
    lines = [
        f"Linux {res['kernel']} boot, {smp} vCPU(s), 512 MiB, QEMU TCG on a "
        f"{res['host_cpus']}-CPU host; {res['runs_requested']} runs each, "
        "alternating Lamina / direct",
        f"command: {res['command']}",
        "host load average (1, 5, 15 min) before: " +
        ", ".join(f"{x:.2f}" for x in res["loadavg_before"]) + "; after: " +
        ", ".join(f"{x:.2f}" for x in res["loadavg_after"]),
        "",
        "Measured: host time from the kernel's first output line (\"Linux "
        "version ...\", after",
        "the decompressor, once the early console is up) to the initramfs's "
        "marker line",
        "\"LAMINA-LINUX-READY\". Firmware, GRUB, Lamina's own boot, `start` "
        "and the decompression",
        "before the first line are not counted. Same kernel, initramfs and "
        "command line",
        f"(same in every pair: {'yes' if res['same_cmdline'] else 'NO'}): "
        f"{(lam['runs'][0].get('cmdline') if lam['runs'] else '') or '?'}",
        "",
        f"  Lamina (qemu-linux, SVM+NPT, {res['config']})",
        f"    first line -> marker  {fmt(lam['first_to_marker_s'])}",
        f"  direct QEMU TCG ({dr['qemu']})",
        f"    first line -> marker  {fmt(dr['first_to_marker_s'])}",
        f"  ratio Lamina / direct (medians): "
        f"{res['ratio_lamina_over_direct'] or '-'}",
        "",
        "Not in the comparison, for scale:",
    ] + [f"  {label:36}{fmt(part[key])}" for label, part, key in (
        ("Lamina `start tux` -> first line", lam, "start_to_first_s"),
        ("Lamina `start tux` -> marker", lam, "start_to_marker_s"),
        ("Lamina's log clock, first -> marker", lam,
         "lamina_clock_first_to_marker_s"),
        ("direct QEMU start -> first line", dr, "qemu_start_to_first_s"),
        ("direct QEMU start -> marker", dr, "qemu_start_to_marker_s"))] + [
        "",
        "Exits of the Lamina boot, all vCPUs (`stats tux`, typed as the "
        "marker came: about 0.2 s later):",
        "  run " + " ".join(f"{k:>9}" for k in KINDS + ("total",)) +
        "  io to no device",
    ]
    for i, r in enumerate(lam["runs"]):
        if "error" in r:
            lines.append(f"  {i:3} ERROR: {r['error']} ({r['log']})")
            if "stats" not in r:
                continue
        st = r["stats"]
        nodev = st.get("unclaimed_port_accesses", "-")
        if st.get("unclaimed_last_port"):
            nodev = f"{nodev} (last {st['unclaimed_last_port']})"
        lines.append(f"  {i:3} " + " ".join(
            f"{st['exits'][k] if st['exits'][k] is not None else '-':>9}"
            for k in KINDS) + f" {st['total']:>9}  {nodev}")
    if res["exits_median"]:
        lines.append("  med " + " ".join(
            f"{res['exits_median'][k]:>9g}" for k in KINDS + ("total",)))
    for i, r in enumerate(lam["runs"]):
        if "stats" in r and r["stats"]["irqchip"]:
            lines.append(f"  irqchip, run {i}: " +
                         "; ".join(r["stats"]["irqchip"]))
    for i, r in enumerate(dr["runs"]):
        if "error" in r:
            lines.append(f"direct run {i} ERROR: {r['error']} ({r['log']})")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--smp", type=int, default=1, choices=(1, 2))
    p.add_argument("--pvh", action="store_true",
                   help="boot build/linux/vmlinux through its PVH entry "
                        "under Lamina (the direct QEMU boot stays the bzImage)")
    args = p.parse_args()
    global PVH
    PVH = args.pvh
    if args.runs < 1:
        p.error("--runs must be at least 1")
    for f in (linux_direct.BZIMAGE, linux_direct.INITRD):
        if not os.path.exists(f):
            sys.exit(f"linux_boot.py: no {f}: run `make linux-guest`")
    if not os.path.exists(ELF):
        sys.exit(f"linux_boot.py: no {ELF}: run `make`")
    try:
        emu.check_available(SETUP)
    except emu.MissingDependency as e:
        sys.exit(f"linux_boot.py: SKIP: {e}")
    os.makedirs(OUT, exist_ok=True)
    load_before = os.getloadavg()
    lam, direct = [], []
    words = None
    for i in range(args.runs):
        r = lamina_run(i, args.smp)
        lam.append(r)
        print(f"run {i} Lamina: " + (f"ERROR {r['error']}" if "error" in r
              else f"first line -> marker {r['first_to_marker_s']:.2f} s "
              f"(start -> marker {r['start_to_marker_s']:.2f} s), "
              f"{r['stats']['total']} exits"), flush=True)
        if r.get("cmdline"):
            words = r["cmdline"].split()
        if not words or words[0] != "console=ttyS0":
            # linux_direct.qemu_argv() puts console=ttyS0 first itself.
            sys.exit(f"linux_boot.py: no usable guest command line from "
                     f"Lamina's run ({words}); serial log {r['log']}")
        d = direct_run(i, args.smp, words[1:])
        direct.append(d)
        print(f"run {i} direct: " + (f"ERROR {d['error']}" if "error" in d
              else f"first line -> marker {d['first_to_marker_s']:.2f} s "
              f"(QEMU start -> marker {d['qemu_start_to_marker_s']:.2f} s)"),
              flush=True)
    res = collect(lam, direct, args.smp, args.runs, load_before)
    bench = ("linux_boot" + (f"-smp{args.smp}" if args.smp != 1 else "") +
             ("-pvh" if args.pvh else ""))
    text = render(res)
    benchlib.save(bench, figures(res, bench.replace("-", "_")), text, **res)
    print(text, end="")
    failed = any("error" in r for r in lam + direct)
    return 1 if failed or not res["same_cmdline"] else 0


if __name__ == "__main__":
    sys.exit(main())
