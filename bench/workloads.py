#!/usr/bin/python3
"""Guest workloads under Lamina against the same guest with no hypervisor,
and the VM exits a workload and an idle Linux guest make.

1. Nested overhead. tests/guests/work32.asm, a Multiboot kernel, runs a
   register-only compute loop, a sequential fill of a buffer and a
   pseudo-random read-modify-write walk over it (64 MiB, 4 KiB guest
   pages, paging on: nearly every access misses the TLB, and under Lamina
   the page walk goes through NPT), each timed with RDTSC in the guest.
   It runs (a) under Lamina in QEMU TCG (setup qemu-bios, SVM+NPT;
   bench/configs/work.yaml: VM 'work', boot kind multiboot) and (b)
   straight in QEMU TCG (`-kernel build/guests/work32.bin -append` the
   config's command line, QEMU's own multiboot loader, one CPU, the same
   CPU model), alternating a, b, a, b, ... (the host is noisy). Without
   icount the TSC a TCG guest reads follows the host's, so the ratio of
   the TSC deltas (Lamina / direct) is the ratio of the times; the host
   time between the guest's lines (and, under Lamina, Lamina's log clock)
   is kept as a cross-check. So is the CPU time the guest's QEMU vCPU
   thread ran meanwhile (/proc/PID/task/TID/schedstat, sampled as each
   line comes): it leaves out the time the thread waited for a host CPU.
   That matters on a small host: Lamina's monitor pCPU polls its UART, so
   Lamina's QEMU keeps one host CPU busy besides the guest's. It still
   counts what a busy neighbour costs the thread: on the 2-CPU machine
   this was written on, a shell loop spinning beside a direct run raised
   the run's compute CPU time by 3 to 37% (three tries). Its resolution
   is the host scheduler's tick (a few ms): read it for compute and
   memwalk, not for the short fill. Both runs must print the same
   checksums.
2. Exits per workload: `stats work` after the VM stopped, every Lamina run
   of 1 (all of work32's run: both workloads, its console output), and
   the same guest with work-short.yaml's sizes on Bochs VMX (bochs-vmx,
   EPT). Counts: the same guest makes the same exits.
3. Exits of an idle Linux guest: Debian's kernel with the busybox
   initramfs (`make linux-guest`), through PVH on one vCPU
   (bench/configs/linux-boot-1-pvh.yaml, booted by bench/linux_boot.py's
   functions) on qemu-linux; after its marker LAMINA-LINUX-READY and a
   settling pause, `stats tux`, 10 s of host time doing nothing, `stats
   tux` again (N windows in one boot): exits per second by kind (one
   vCPU: per vCPU), its local APIC timer (mode, count, interrupts per
   second), and how busy the host's CPUs were meanwhile (Lamina folds
   the periods of a periodic guest timer it could not deliver in time
   into one interrupt, so a loaded host shows fewer ticks).

    bench/workloads.py [--runs N] [--short] [--no-vmx] [--no-linux]
    (default: 3 runs; --short: one run of each, the smallest sizes
     (work-short.yaml), a 5 s idle window: the test suite's check)

Needs `make` (Lamina, lamina-cfg, build/guests/work32.bin), and `make
linux-guest` for 3. Writes build/bench/workloads.json (figures, see
bench/benchlib.py) and build/bench/workloads.txt; serial logs of the
Lamina boots in build/test-logs/bench-work-*/, of the direct runs in
build/bench/work-direct/. Emulated times on a shared host: compare only
with figures from the same machine, and read the spread.
"""

import argparse
import os
import re
import select
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "tools"))
sys.path.insert(0, HERE)
from conftest import ELF, booted  # noqa: E402
import benchlib  # noqa: E402
import emu  # noqa: E402
import linux_boot  # noqa: E402

CONFIG = os.path.join(HERE, "configs", "work.yaml")
CONFIG_SHORT = os.path.join(HERE, "configs", "work-short.yaml")
GUEST = os.path.join(REPO, "build", "guests", "work32.bin")
DIRECT_LOGS = os.path.join(REPO, "build", "bench", "work-direct")
SETUP = "qemu-bios"          # Lamina, SVM+NPT under TCG
VMX_SETUP = "bochs-vmx"      # Lamina, VMX+EPT under Bochs
LINUX_SETUP = linux_boot.SETUP
VM = "work"
KINDS = linux_boot.KINDS
WORKLOADS = ("compute", "fill", "memwalk")
# Which marker line starts each workload's host time: the line before it.
STARTS = {"compute": "start", "fill": "compute", "memwalk": "fill"}

# A guest line, straight (direct run) or in Lamina's log:
# "[  14.166805] vm: vm 'work' console: WORK compute       2754192220 sum=..."
WORK_RE = re.compile(r"WORK (start|compute|fill|memwalk|end|error)"
                     r"([^\r\n]*)\r?\n")
LAMINA_WORK_RE = re.compile(rf"\[\s*(\d+\.\d+)\] vm: vm '{VM}' console: "
                            + WORK_RE.pattern)
STOP_RE = re.compile(rf"vm: vm '{VM}' (stopped|crashed): ([^\r\n]*)\r?\n")
START_ERROR_RE = re.compile(rf"error: cannot start '{VM}'[^\r\n]*")
DEBUG_EXIT_0 = "debug-exit: the guest wrote 0x0"

# Seconds. Under TCG a full run's work takes about 4 s direct, more under
# Lamina; Bochs runs the short sizes in seconds. Generous: a loaded host.
WORK_TIMEOUT = {"qemu": 300, "bochs": 600}
IDLE_SETTLE = 3          # after the marker: the shell's prompt, /init's end
IDLE_WINDOW = 10
IDLE_WINDOW_SHORT = 5


class RunError(Exception):
    pass


# ---------------------------------------------------------------- the guest

def config_facts(path):
    """The VM's command line and RAM top (MiB) from a work*.yaml."""
    import yaml
    with open(path) as f:
        vm = yaml.safe_load(f)["vms"][0]
    top = 0
    for region in vm["memory"]:
        size = str(region["size"])
        n = int(size.rstrip("KMG"), 0) * {"K": 1 << 10, "M": 1 << 20,
                                          "G": 1 << 30}.get(size[-1], 1)
        top = max(top, int(region["gpa"]) + n)
    return vm["boot"].get("cmdline", ""), -(-top // (1 << 20))


def parse_work(lines):
    """[(kind, rest, t)] of the WORK lines -> the run's numbers, with
    host seconds between the lines (t: host time, or Lamina's clock)."""
    seen = {}
    for kind, rest, t in lines:
        if kind == "error":
            raise RunError(f"the guest says: WORK error{rest}")
        seen[kind] = (rest, t)
    missing = [k for k in ("start",) + WORKLOADS + ("end",) if k not in seen]
    if missing:
        raise RunError("no WORK " + ", ".join(missing) + " line")
    r = {"args": dict(re.findall(r"(\w+)=(\d+)", seen["start"][0])),
         "tsc": {}, "sums": {}, "wall_s": {}}
    for w in WORKLOADS:
        m = re.match(r"\s+(\d+)(?: sum=(0x[0-9a-f]{8}))?", seen[w][0])
        if not m:
            raise RunError(f"bad line: WORK {w}{seen[w][0]}")
        r["tsc"][w] = int(m.group(1))
        if m.group(2):
            r["sums"][w] = m.group(2)
        r["wall_s"][w] = round(seen[w][1] - seen[STARTS[w]][1], 4)
    return r


# ---------------------------------------------------------------- CPU time

def thread_ns(pid):
    """{thread id: ns it has run} of a process (/proc/PID/task/*/
    schedstat), {} once it is gone."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                out[int(tid)] = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return out


def busy_threads(pid, seconds=0.5):
    """The threads that ran most of `seconds` now: Lamina's monitor pCPU
    polls its UART, so its QEMU thread spins while the guest's idles."""
    a = thread_ns(pid)
    time.sleep(seconds)
    b = thread_ns(pid)
    return {t for t in b if b[t] - a.get(t, 0) > 0.3 * seconds * 1e9}


def guest_cpu_s(samples, exclude=()):
    """The guest's vCPU thread (the one, `exclude` aside, that ran most
    from the first sample to the last) and its CPU seconds between each
    sample and the one before: {kind of the later sample: s}. Unlike the
    host's time, this leaves out the time the thread waited for a host
    CPU (the host is shared)."""
    first = samples[0][1]
    tids = {t for _, ns in samples for t in ns} - set(exclude)
    if not tids:
        return {}
    # A thread's time only grows: its largest is its last one seen.
    tid = max(tids, key=lambda t: max(ns.get(t, 0) for _, ns in samples)
              - first.get(t, 0))
    out = {}
    for (_, a), (kind, b) in zip(samples, samples[1:]):
        out[kind] = round((b[tid] - a[tid]) / 1e9, 4) \
            if tid in a and tid in b else None
    return out


def cpu_by_workload(samples, exclude=()):
    """guest_cpu_s() with the workloads' names (the sample at a line
    closes the part before it), from "WORK start" to the last workload's
    line; None for a part whose thread was gone at its line (a direct
    QEMU ends a few instructions after the last)."""
    samples = [(k, ns) for k, ns in samples if k in ("start",) + WORKLOADS]
    if len(samples) < 2:
        return {}
    per_line = guest_cpu_s(samples, exclude)
    return {w: per_line[w] for w in WORKLOADS if w in per_line}


# ---------------------------------------------------------------- Lamina

def wait_work(con, timeout):
    """From `start work` to the stop line: the WORK lines with the host's
    time, Lamina's log clock and the QEMU threads' CPU time (Bochs: none)
    when each came, and why the VM stopped."""
    host, clock, cpu = [], [], []
    pid = con.machine.proc.pid if con.setup.emulator == "qemu" else None
    deadline = time.monotonic() + timeout
    while True:
        i = con.machine.expect([LAMINA_WORK_RE, STOP_RE, START_ERROR_RE],
                               max(1.0, deadline - time.monotonic()))
        t = time.monotonic()
        m = con.machine.child.match
        if i == 2:
            raise RunError(m.group(0))
        if i == 1:
            return host, clock, cpu, m.group(1), m.group(2)
        if pid:
            cpu.append((m.group(2), thread_ns(pid)))
        host.append((m.group(2), m.group(3), t))
        clock.append((m.group(2), m.group(3), float(m.group(1))))


def lamina_work(setup, config, i):
    """One boot: `start work`, its WORK lines, `stats work` after it
    stopped. A result dict, or {"error": ...}."""
    logname = f"bench-work-{setup}-{os.path.basename(config)[:-5]}-{i}"
    log = os.path.join(linux_boot.LOGROOT, logname, "serial.log")
    try:
        with booted(setup, logname=logname, config=config) as con:
            if con.broken:
                raise RunError("no prompt: " + str(con.broken).split("\n")[0])
            tsc = linux_boot.TSC_LINE.search(con.lamina_text())
            monitor = busy_threads(con.machine.proc.pid) \
                if con.setup.emulator == "qemu" else set()
            con.type(f"start {VM}\r")
            host, clock, cpu, state, reason = wait_work(
                con, WORK_TIMEOUT[emu.SETUPS[setup].emulator])
            # The guest may stop before or after the start reply and its
            # prompt: `version` marks a known point, then the prompt.
            con.type("version\r")
            con.expect(r"monitor protocol \d+[^\r\n]*\r\n")
            con.prompt()
            stats = linux_boot.parse_stats(con.run_raw(f"stats {VM}"))
    except (emu.EmuError, RunError) as e:
        return {"error": str(e).split("\n")[0], "log": log}
    r = parse_work(host)
    r["lamina_clock_s"] = parse_work(clock)["wall_s"]
    if cpu:
        r["cpu_s"] = cpu_by_workload(cpu, monitor)
        r["spinning_threads_at_prompt"] = len(monitor)
    r.update({"state": state, "reason": reason, "stats": stats,
              "exits": stats["exits"], "log": log,
              "tsc_mhz": float(f"{tsc.group(1)}.{tsc.group(2)}")
              if tsc else None})
    if state != "stopped" or not reason.startswith(DEBUG_EXIT_0):
        r["error"] = f"vm '{VM}' {state}: {reason}"
    return r


# ---------------------------------------------------------------- direct

def direct_argv(config):
    """QEMU with the guest as its multiboot kernel: the CPU model Lamina's
    machine has (setup qemu-bios), one CPU, the config's RAM top."""
    cmdline, mem_mib = config_facts(config)
    accel = ["-accel", "kvm", "-cpu", "host"] if emu.kvm_status()[0] else \
        ["-accel", "tcg", "-cpu", "qemu64,+svm,+npt"]
    return [emu.QEMU, "-machine", "pc", *accel, "-smp", "1",
            "-m", str(mem_mib), "-display", "none", "-no-reboot",
            "-monitor", "none", "-nic", "none", "-serial", "stdio",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
            "-kernel", GUEST, "-append", cmdline]


def read_stamped(proc, log, timeout):
    """Everything QEMU prints until it exits, to `log`; the WORK lines
    with the host time their newline came, and QEMU's threads' CPU time
    then: ([(kind, rest, time)], [(kind, {thread: ns})])."""
    lines, cpu, pending = [], [], ""
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise RunError(f"no end within {timeout} s")
        r, _, _ = select.select([fd], [], [], min(left, 1.0))
        if not r:
            continue
        data = os.read(fd, 65536)
        t = time.monotonic()
        if not data:
            return lines, cpu
        ns = thread_ns(proc.pid)
        text = data.decode("utf-8", "replace")
        log.write(text)
        pending += text
        for m in WORK_RE.finditer(pending):
            lines.append((m.group(1), m.group(2), t))
            cpu.append((m.group(1), ns))
        pending = pending[pending.rfind("\n") + 1:]


def wait_rusage(proc, timeout):
    """Reap `proc`: (exit status, ns of CPU all its threads used)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, int((ru.ru_utime + ru.ru_stime) * 1e9)
        if time.monotonic() > deadline:
            raise subprocess.TimeoutExpired(proc.args, timeout)
        time.sleep(0.02)


def direct_work(config, i):
    """One run straight in QEMU: a result dict, or {"error": ...}."""
    os.makedirs(DIRECT_LOGS, exist_ok=True)
    path = os.path.join(DIRECT_LOGS,
                        f"{os.path.basename(config)[:-5]}-{i}.log")
    argv = direct_argv(config)
    with open(path, "w") as log:
        log.write(" ".join(argv) + "\n")
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            lines, cpu = read_stamped(proc, log, WORK_TIMEOUT["qemu"])
            rc, exit_ns = wait_rusage(proc, 10)
            r = parse_work(lines)
            r["cpu_s"] = cpu_by_workload(cpu)
        except (RunError, subprocess.TimeoutExpired) as e:
            return {"error": str(e), "log": path}
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
    fill = [ns for kind, ns in cpu if kind == "fill"]
    if r["cpu_s"].get("memwalk") is None and fill and exit_ns:
        # QEMU ended before its threads were read at the memwalk line:
        # all its CPU time at the end less all of it at the fill line
        # (the other threads' part of that: a few ms).
        r["cpu_s"]["memwalk"] = round((exit_ns - sum(fill[0].values()))
                                      / 1e9, 4)
        r["cpu_s_memwalk_from_exit"] = True
    r.update({"exit_status": rc, "log": path})
    if rc != 1:   # isa-debug-exit: (0 << 1) | 1
        r["error"] = f"QEMU exited with {rc}, not 1 (the guest's exit 0)"
    return r


# ---------------------------------------------------------------- runs

def overhead(nruns, config, say=print):
    """Lamina and direct, alternating: ([lamina runs], [direct runs])."""
    lam, direct = [], []
    for i in range(nruns):
        for runs, name, fn in ((lam, "Lamina", lambda: lamina_work(
                SETUP, config, i)), (direct, "direct", lambda: direct_work(
                    config, i))):
            r = fn()
            runs.append(r)
            say(f"run {i} {name}: " + (f"ERROR {r['error']}" if "error" in r
                else " ".join(f"{w} {r['tsc'][w] / 1e9:.3f}G"
                              for w in WORKLOADS) +
                " TSC ticks, sums " + " ".join(r["sums"].values())))
    return lam, direct


def vmx_exits(config, say=print):
    """work32 on Bochs VMX: one Lamina run (its exits are counts)."""
    try:
        emu.check_available(VMX_SETUP)
    except emu.MissingDependency as e:
        say(f"{VMX_SETUP}: skipped: {e}")
        return {"skipped": str(e)}
    t0 = time.monotonic()
    r = lamina_work(VMX_SETUP, config, 0)
    r["seconds"] = round(time.monotonic() - t0, 1)
    say(f"{VMX_SETUP}: " + (f"ERROR {r['error']}" if "error" in r else
        f"{sum(v or 0 for v in r['exits'].values())} exits, sums " +
        " ".join(r["sums"].values())) + f" ({r['seconds']} s)")
    return r


def apic_timer(stats):
    """The vCPUs' local APIC timers from `stats`: [{vcpu, lvt, mode,
    count, fired}]."""
    out = []
    for line in stats["irqchip"]:
        m = re.match(r"apic (\d+) .* timer (0x[0-9a-f]+) count (\d+) "
                     r"fired (\d+)", line)
        if m:
            lvt = int(m.group(2), 16)
            mode = ("one-shot", "periodic", "TSC-deadline", "?")[
                (lvt >> 17) & 3]
            out.append({"vcpu": int(m.group(1)), "lvt": m.group(2),
                        "mode": mode + (", masked" if lvt & 1 << 16 else ""),
                        "count": int(m.group(3)), "fired": int(m.group(4))})
    return out


def host_cpu():
    """(busy, total) jiffies of all the host's CPUs (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4], sum(v)   # idle and iowait aside


def read_stats_at(con):
    """`stats tux` parsed, with the host time the monitor got the command
    (once the CR that runs it is typed, not when the reply ends:
    qemu-linux types a byte per 20 ms), the host's CPU counters and the
    QEMU threads' CPU time then."""
    con.type(f"stats {linux_boot.VM}")
    con.type("\r")
    t, host, qemu = time.monotonic(), host_cpu(), \
        sum(thread_ns(con.machine.proc.pid).values())
    return t, linux_boot.parse_stats(con.prompt()), host, qemu


def idle_linux(window, settle=IDLE_SETTLE, windows=1, say=print):
    """Boot Linux (PVH, one vCPU) under Lamina on qemu-linux, wait for its
    marker, then `stats tux` around `windows` idle windows of `window`
    host seconds each: a result dict, or {"skipped"/"error": ...}."""
    config = linux_boot.CONFIGS[1, True]
    for f in (os.path.join(REPO, "build", "linux", "vmlinux"),
              linux_boot.linux_direct.INITRD):
        if not os.path.exists(f):
            say(f"idle Linux: skipped: no {f} (`make linux-guest`)")
            return {"skipped": f"no {f}: run `make linux-guest`"}
    try:
        emu.check_available(LINUX_SETUP)
    except emu.MissingDependency as e:
        say(f"idle Linux: skipped: {e}")
        return {"skipped": str(e)}
    logname = "bench-work-idle-linux"
    res = {"config": os.path.relpath(config, REPO), "setup": LINUX_SETUP,
           "settle_s": settle, "window_s": window,
           "log": os.path.join(linux_boot.LOGROOT, logname, "serial.log")}
    try:
        with booted(LINUX_SETUP, logname=logname, config=config) as con:
            if con.broken:
                raise RunError("no prompt: " + str(con.broken).split("\n")[0])
            boot = linux_boot.lamina_boot(con, 1)
            if "error" in boot:
                raise RunError(boot["error"])
            res["release"] = boot["release"]
            time.sleep(settle)
            samples = [read_stats_at(con)]
            for _ in range(windows):
                time.sleep(window)
                samples.append(read_stats_at(con))
    except (emu.EmuError, RunError) as e:
        res["error"] = str(e).split("\n")[0]
        say(f"idle Linux: ERROR {res['error']}")
        return res
    res["windows"] = []
    for (t0, s0, h0, q0), (t1, s1, h1, q1) in zip(samples, samples[1:]):
        dt = t1 - t0
        w = {"seconds": round(dt, 3),
             "host_busy": round((h1[0] - h0[0]) / max(1, h1[1] - h0[1]), 3),
             "qemu_cpus": round((q1 - q0) / 1e9 / dt, 2),
             "exits": {k: s1["exits"][k] - s0["exits"][k] for k in KINDS
                       if s0["exits"][k] is not None
                       and s1["exits"][k] is not None},
             "timers": apic_timer(s1),
             "timer_fired": sum(a["fired"] for a in apic_timer(s1)) -
             sum(a["fired"] for a in apic_timer(s0)),
             "console_bytes": s1.get("console_bytes", 0) -
             s0.get("console_bytes", 0)}
        w["exits"]["total"] = sum(w["exits"].values())
        w["per_s"] = {k: round(v / dt, 1) for k, v in w["exits"].items()}
        w["timer_irqs_per_s"] = round(w["timer_fired"] / dt, 1)
        res["windows"].append(w)
    res["stats_before"], res["stats_after"] = samples[0][1], samples[-1][1]
    res["vcpus"] = len(apic_timer(samples[-1][1])) or 1
    say("idle Linux: " + "; ".join(
        f"{w['per_s']['total']:g} exits/s ({w['exits']['total']} in "
        f"{w['seconds']} s), timer {w['timer_irqs_per_s']:g}/s"
        for w in res["windows"]))
    return res


# ---------------------------------------------------------------- figures

def ok(runs):
    return [r for r in runs if "error" not in r]


def sums_match(runs):
    """Every successful run printed the same checksums."""
    sums = [r["sums"] for r in ok(runs)]
    return bool(sums) and all(s == sums[0] for s in sums)


def figures(res):
    figs = []
    lam, direct = res["lamina"], res["direct"]
    pairs = [(a, b) for a, b in zip(lam, direct)
             if "error" not in a and "error" not in b]
    cfg = os.path.relpath(res["config"], REPO)
    for w in WORKLOADS:
        if pairs:
            figs.append(benchlib.figure(
                f"overhead.{w}", [round(a["tsc"][w] / b["tsc"][w], 3)
                                  for a, b in pairs], "ratio", setup=SETUP,
                note=f"TSC delta under Lamina / direct in QEMU, per pair "
                     f"of alternating runs ({cfg})"))
            # A part shorter than the scheduler's tick may read 0 s of
            # CPU: no ratio from that pair.
            cpu = [round(a["cpu_s"][w] / b["cpu_s"][w], 3) for a, b in pairs
                   if a.get("cpu_s", {}).get(w) and b.get("cpu_s", {}).get(w)]
            if cpu:
                figs.append(benchlib.figure(
                    f"overhead.{w}.cpu", cpu, "ratio", setup=SETUP,
                    note="CPU time of the guest's QEMU vCPU thread, Lamina "
                    "/ direct: what the host's other load leaves out"))
        for who, runs in (("lamina", lam), ("direct", direct)):
            how = "" if who == "lamina" else \
                ", QEMU TCG without Lamina, 1 CPU"
            vals = [round(r["wall_s"][w], 3) for r in ok(runs)]
            if vals:
                figs.append(benchlib.figure(
                    f"workload.{w}.{who}_s", vals, "s", setup=SETUP,
                    note="host time between the guest's WORK lines" + how))
            vals = [round(r["cpu_s"][w], 3) for r in ok(runs)
                    if r.get("cpu_s", {}).get(w) is not None]
            if vals:
                figs.append(benchlib.figure(
                    f"workload.{w}.{who}_cpu_s", vals, "s", setup=SETUP,
                    note="CPU time of the guest's QEMU vCPU thread "
                    "meanwhile" + how))
    for setup, runs, cfg in ((SETUP, ok(lam), res["config"]),
                             (VMX_SETUP, ok([res["vmx"]])
                              if "exits" in res.get("vmx", {}) else [],
                              res.get("vmx_config"))):
        if not runs:
            continue
        note = f"the whole run of work32, {os.path.relpath(cfg, REPO)}"
        for k in KINDS + ("total",):
            vals = [sum(v or 0 for v in r["exits"].values()) if k == "total"
                    else r["exits"][k] for r in runs]
            if any(v is None for v in vals):
                continue
            figs.append(benchlib.figure(
                f"exits.work32.{k}", vals, "exits", setup=setup,
                exact=len(set(vals)) == 1, note=note))
    idle = res.get("idle_linux", {})
    if idle.get("windows"):
        note = (f"Linux {idle.get('release')} idle at its shell, "
                f"{idle['vcpus']} vCPU ({os.path.basename(idle['config'])}), "
                f"per vCPU, {idle['window_s']} s windows")
        for k in KINDS + ("total",):
            vals = [w["per_s"][k] / idle["vcpus"] for w in idle["windows"]
                    if k in w["per_s"]]
            if vals:
                figs.append(benchlib.figure(
                    f"exits.idle_linux.{k}", vals, "exits/s",
                    setup=LINUX_SETUP, note=note))
        figs.append(benchlib.figure(
            "idle_linux.timer_irqs", [w["timer_irqs_per_s"] / idle["vcpus"]
                                      for w in idle["windows"]],
            "interrupts/s", setup=LINUX_SETUP,
            note="local APIC timer interrupts Lamina delivered, per vCPU"))
    return figs


def render(res, figs):
    by = {(f["name"], f.get("setup")): f for f in figs}

    def val(name, setup=SETUP):
        f = by.get((name, setup))
        return benchlib.spread(f) if f else "-"

    lam, direct = res["lamina"], res["direct"]
    args = (ok(lam) or ok(direct) or [{"args": {}}])[0]["args"]
    lines = [
        f"Guest workloads under Lamina and without it, QEMU TCG on a "
        f"{os.cpu_count()}-CPU host; {res['runs']} run(s) each, alternating",
        f"command: {res['command']}",
        "host load average before: " + ", ".join(
            f"{x:.2f}" for x in res["loadavg_before"]) + "; after: " +
        ", ".join(f"{x:.2f}" for x in res["loadavg_after"]),
        "",
        f"work32 ({os.path.relpath(res['config'], REPO)}: " +
        " ".join(f"{k}={v}" for k, v in args.items()) + "):",
        "  compute: million rounds of a register-only loop; fill: the "
        "buffer (mem MiB) written",
        "  sequentially, twice, the second pass timed; memwalk: million "
        "random dword read-modify-",
        "  writes in it; guest paging on (4 KiB pages) for fill and memwalk.",
        f"  (a) Lamina, {SETUP} (SVM+NPT, 4 CPUs); (b) QEMU -kernel, 1 CPU.",
        "  ratio: the guest's TSC delta, (a) / (b), per pair of runs (the "
        "TSC follows the host's",
        "  time); cpu: the same from the CPU time of the guest's QEMU vCPU "
        "thread, which leaves",
        "  out the time it waited for a host CPU. s: host time between the "
        "guest's lines.",
        "",
        f"  {'':14}" + "".join(f"{w:>26}" for w in WORKLOADS),
    ]
    for label, name in (("ratio", "overhead.{}"),
                        ("ratio (cpu)", "overhead.{}.cpu"),
                        ("Lamina s", "workload.{}.lamina_s"),
                        ("direct s", "workload.{}.direct_s"),
                        ("Lamina cpu s", "workload.{}.lamina_cpu_s"),
                        ("direct cpu s", "workload.{}.direct_cpu_s")):
        lines.append(f"  {label:14}" + "".join(
            f"{val(name.format(w)):>26}" for w in WORKLOADS))
    sums = (ok(lam) or ok(direct) or [{"sums": {}}])[0]["sums"]
    lines.append("  checksums equal in every run, Lamina and direct: " +
                 ("yes" if res["sums_match"] else "NO") +
                 f" ({' '.join(sums.values())})")
    for who, runs in (("Lamina", lam), ("direct", direct)):
        for i, r in enumerate(runs):
            if "error" in r:
                lines.append(f"  {who} run {i} ERROR: {r['error']} "
                             f"({r['log']})")
    lines += ["", "Exits of work32's whole run (`stats work` after it "
              "stopped; counts):",
              f"  {'setup':10} {'config':16} " +
              " ".join(f"{k:>8}" for k in KINDS) + f" {'total':>7}"]
    vmx = res.get("vmx", {})
    for setup, cfg in ((SETUP, res["config"]),
                       (VMX_SETUP, res.get("vmx_config"))):
        if setup == VMX_SETUP and "exits" not in vmx:
            why = vmx.get("skipped") or vmx.get("error") or "not run"
            lines.append(f"  {setup:10} {why}")
            continue
        lines.append(f"  {setup:10} {os.path.basename(cfg):16} " +
                     " ".join(f"{val(f'exits.work32.{k}', setup):>8}"
                              for k in KINDS) +
                     f" {val('exits.work32.total', setup):>7}")
    if "sums" in vmx:
        lines.append(f"  {VMX_SETUP}: checksums equal to a direct run's: " +
                     ("yes" if res.get("vmx_sums_match") else "NO"))
    if "tsc" in vmx:
        lines.append(f"  ({VMX_SETUP}: the guest's TSC counts instructions "
                     "there: " + ", ".join(f"{w} {vmx['tsc'][w]}"
                                            for w in WORKLOADS) + ")")
    idle = res.get("idle_linux", {})
    lines += ["", "Idle Linux guest under Lamina (exits per second, per "
              "vCPU):"]
    if not idle.get("windows"):
        why = idle.get("skipped") or idle.get("error") or "not run"
        lines.append(f"  {why}")
    else:
        lines += [
            f"  Linux {idle['release']}, {idle['vcpus']} vCPU, "
            f"{LINUX_SETUP} ({os.path.basename(idle['config'])}); "
            f"{idle['settle_s']} s after the marker, then "
            f"{len(idle['windows'])} window(s) of {idle['window_s']} s",
        ] + [f"  {k:10} {val(f'exits.idle_linux.{k}', LINUX_SETUP)}"
             for k in KINDS + ("total",)] + [
            f"  {'timer irqs':10} "
            f"{val('idle_linux.timer_irqs', LINUX_SETUP)}"]
        for w in idle["windows"]:
            timers = "; ".join(
                f"vCPU {a['vcpu']} LVT {a['lvt']} ({a['mode']}) count "
                f"{a['count']}" for a in w["timers"])
            lines.append(f"  window {w['seconds']} s: {w['exits']['total']} "
                         f"exits, {w['timer_fired']} timer interrupts "
                         f"({w['timer_irqs_per_s']:g}/s), "
                         f"{w['console_bytes']} console bytes; {timers}; "
                         f"host CPUs {100 * w['host_busy']:.0f}% busy, "
                         f"Lamina's QEMU {w['qemu_cpus']:g} CPUs")
    return "\n".join(lines) + "\n"


def measure(nruns, short, vmx=True, linux=True, say=print):
    """Everything; the result dict (figures under "figures")."""
    config = CONFIG_SHORT if short else CONFIG
    res = {"command": " ".join(["bench/workloads.py"] + sys.argv[1:])
           if os.path.basename(sys.argv[0]) == "workloads.py"
           else "bench/workloads.py (imported)",
           "runs": nruns, "short": short, "config": config,
           "loadavg_before": os.getloadavg()}
    res["lamina"], res["direct"] = overhead(nruns, config, say)
    res["sums_match"] = sums_match(res["lamina"] + res["direct"])
    if vmx:
        res["vmx_config"] = CONFIG_SHORT
        res["vmx"] = vmx_exits(CONFIG_SHORT, say)
        if "sums" in res["vmx"]:
            # Against a direct run of the same sizes (a fraction of a
            # second when this one had none).
            ref = ok(res["direct"]) if short else \
                ok([direct_work(CONFIG_SHORT, "vmx-check")])
            res["vmx_sums_match"] = bool(ref) and \
                res["vmx"]["sums"] == ref[0]["sums"]
    if linux:
        res["idle_linux"] = idle_linux(
            IDLE_WINDOW_SHORT if short else IDLE_WINDOW,
            windows=1 if short else nruns, say=say)
    res["loadavg_after"] = os.getloadavg()
    res["figures"] = figures(res)
    return res


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--short", action="store_true",
                   help="one run of each, the smallest sizes")
    p.add_argument("--no-vmx", action="store_true",
                   help=f"skip work32's exits on {VMX_SETUP}")
    p.add_argument("--no-linux", action="store_true",
                   help="skip the idle Linux guest")
    args = p.parse_args()
    if args.runs < 1:
        p.error("--runs must be at least 1")
    nruns = 1 if args.short else args.runs
    for f, how in ((ELF, "make"), (GUEST, "make")):
        if not os.path.exists(f):
            sys.exit(f"workloads.py: no {f}: run `{how}`")
    try:
        emu.check_available(SETUP)
    except emu.MissingDependency as e:
        sys.exit(f"workloads.py: SKIP: {e}")
    res = measure(nruns, args.short, not args.no_vmx, not args.no_linux,
                  say=lambda s: print(s, flush=True))
    figs = res.pop("figures")
    text = render(res, figs)
    benchlib.save("workloads", figs, text, **res)
    print(text, end="")
    failed = any("error" in r for r in res["lamina"] + res["direct"]) or \
        not res["sums_match"] or "error" in res.get("vmx", {}) or \
        res.get("vmx_sums_match") is False or \
        "error" in res.get("idle_linux", {})
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
