#!/usr/bin/python3
"""Monitor round trip: the host-side time for a `stats` reply in JSON mode
through the host tool build/lamina-ctl (docs/monitor.md, "Scripts: JSON
mode and lamina-ctl").

Boots Lamina with tests/configs/boot-default.yaml (VMs alpha and beta),
its serial line a Unix socket server (tools/emu.py, serial_unix=...),
runs the VM alpha (tests/guests/hello32.asm) to its end so that `stats
alpha` has counters to show, then:

- N times `lamina-ctl --json --unix SOCK stats alpha`, each timed at the
  host from the process's start to its exit: what a script pays for one
  reply (the program's start, the connection, its "json on" and the
  `stats` round trips, both over the emulated serial line);
- N times `stats alpha` on one open connection already in JSON mode, from
  the CR sent to the reply's last byte: the round trip alone;
- the size of the reply line (bytes without its CR LF), the same every
  time: exact.

    bench/monitor_rtt.py [--requests N] [--short] [SETUP ...]
                         (default: 50 requests, qemu-bios; --short: 3)

Writes build/bench/monitor_rtt.{json,txt}; figures (bench/benchlib.py),
per setup: monitor.stats_rtt_ms (through lamina-ctl),
monitor.stats_socket_rtt_ms (open socket), monitor.stats_reply_bytes.
The serial log stays in build/bench/monitor_rtt-SETUP/. Times are the
host's, through an emulated UART: compare only figures from one machine.
"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402
from benchlib import OUT, REPO, emu  # noqa: E402

CTL = os.path.join(REPO, "build", "lamina-ctl")
ELF = os.path.join(REPO, "build", "lamina-stripped.elf")
CONFIG = os.path.join(REPO, "tests", "configs", "boot-default.yaml")
ISO = os.path.join(OUT, "monitor_rtt.iso")
VM = "alpha"
PROMPT_RE = re.compile(r"(?m)^lamina> ")


class RttError(Exception):
    pass


def make_image():
    os.makedirs(OUT, exist_ok=True)
    subprocess.run([os.path.join(REPO, "tools", "mkiso.sh"), ISO, ELF, "",
                    CONFIG], check=True)
    return ISO


def ctl(sock, timeout, *args):
    return subprocess.run([CTL, "--timeout", str(timeout), "--unix", sock,
                           *args], capture_output=True, text=True,
                          timeout=timeout + 15)


def run_guest(sock, timeout):
    """Start alpha and wait until `stats alpha` says it stopped."""
    r = ctl(sock, timeout, "start", VM)
    if r.returncode != 0:
        raise RttError(f"start {VM}: {r.stderr.strip() or r.stdout.strip()}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r = ctl(sock, timeout, "stats", VM)
        if r.returncode == 0 and r.stdout.startswith(f"vm '{VM}': stopped"):
            return r.stdout.splitlines()[0]
        time.sleep(0.5)
    raise RttError(f"vm {VM} did not stop in 60 s")


def through_ctl(sock, n, timeout):
    """n timed lamina-ctl runs: ([ms], reply line)."""
    ms, line = [], None
    for i in range(n):
        t0 = time.monotonic()
        r = ctl(sock, timeout, "--json", "stats", VM)
        dt = time.monotonic() - t0
        if r.returncode != 0:
            raise RttError(f"lamina-ctl request {i}: status {r.returncode}:"
                           f" {r.stderr.strip()}")
        rep = json.loads(r.stdout)
        if not rep.get("ok") or rep.get("cmd") != "stats":
            raise RttError(f"lamina-ctl request {i}: {r.stdout.strip()}")
        ms.append(round(dt * 1000, 3))
        line = r.stdout.rstrip("\n")
    return ms, line


class Client:
    """One connection to the monitor's socket, in JSON mode."""

    def __init__(self, path, timeout):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.timeout = timeout
        self.buf = b""

    def close(self):
        self.sock.close()

    def reply(self, cmd, deadline):
        """Lines until the JSON reply to `cmd`; the reply line (bytes)."""
        while True:
            while b"\n" not in self.buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RttError(f"no reply to {cmd!r} in time; got "
                                   f"{self.buf[-200:]!r}")
                self.sock.settimeout(left)
                try:
                    data = self.sock.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    raise RttError("the socket closed")
                self.buf += data
            line, self.buf = self.buf.split(b"\n", 1)
            line = line.rstrip(b"\r")
            if not line.startswith(b"{"):
                continue            # a prompt, an echo, old output
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if obj.get("cmd") == cmd:
                return line, obj

    def request(self, text):
        cmd = text.split()[0]
        self.sock.sendall(text.encode() + b"\r")
        return self.reply(cmd, time.monotonic() + self.timeout)


def through_socket(sock, n, timeout):
    c = Client(sock, timeout)
    try:
        c.sock.sendall(b"\x15")
        c.request("json on")
        ms, line = [], None
        for i in range(n):
            t0 = time.monotonic()
            line, obj = c.request(f"stats {VM}")
            dt = time.monotonic() - t0
            if not obj.get("ok"):
                raise RttError(f"socket request {i}: {line!r}")
            ms.append(round(dt * 1000, 3))
    finally:
        c.close()
    return ms, line.decode("latin-1")


def measure(setup, iso, n):
    s = emu.SETUPS[setup]
    timeout = 60 if s.emulator == "bochs" else 20
    logdir = os.path.join(OUT, f"monitor_rtt-{setup}")
    sock = os.path.join(logdir, "serial.sock")
    m = emu.start(setup, iso, logdir, serial_unix=sock)
    try:
        m.expect(PROMPT_RE, s.boot_timeout)
        # The first lamina-ctl switches the monitor to JSON mode.
        r = ctl(sock, timeout, "version")
        if r.returncode != 0:
            raise RttError(f"lamina-ctl version: {r.stderr.strip()}")
        version = r.stdout.splitlines()[0]
        head = run_guest(sock, timeout)
        ctl_ms, ctl_line = through_ctl(sock, n, timeout)
        sock_ms, sock_line = through_socket(sock, n, timeout)
    finally:
        m.stop()
    return {"setup": setup, "what": s.what, "requests": n,
            "version": version, "vm_state": head, "ctl_ms": ctl_ms,
            "socket_ms": sock_ms, "reply_bytes": len(ctl_line.encode()),
            "socket_reply_bytes": len(sock_line.encode("latin-1")),
            "reply": json.loads(ctl_line), "log": m.serial_log}


def figures(r):
    setup = r["setup"]
    return [
        benchlib.figure("monitor.stats_rtt_ms", r["ctl_ms"], "ms", setup,
                        note="lamina-ctl --json stats alpha: process start "
                             "to exit ('json on' and 'stats' round trips)"),
        benchlib.figure("monitor.stats_socket_rtt_ms", r["socket_ms"], "ms",
                        setup, note="one `stats` round trip on an open "
                                    "socket in JSON mode"),
        benchlib.figure("monitor.stats_reply_bytes", [r["reply_bytes"]],
                        "bytes", setup, exact=True,
                        note="the JSON reply line without CR LF"),
    ]


def render(results):
    lines = ["Monitor round trip: `stats alpha` in JSON mode (host time, "
             "emulated UART)",
             f"{'setup':12} {'requests':>8}  {'lamina-ctl ms':>34}  "
             f"{'open socket ms':>34}  reply bytes"]
    for r in results:
        if "error" in r:
            lines.append(f"{r['setup']:12} ERROR: {r['error']}")
            continue
        f = {x["name"]: x for x in figures(r)}
        lines.append(
            f"{r['setup']:12} {r['requests']:>8}  "
            f"{benchlib.spread(f['monitor.stats_rtt_ms']):>34}  "
            f"{benchlib.spread(f['monitor.stats_socket_rtt_ms']):>34}  "
            f"{r['reply_bytes']}")
    lines.append("lamina-ctl: one process per request (its start, connect, "
                 "'json on' and 'stats'); open socket: the 'stats' round "
                 "trip alone; median (min-max, n)")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=50)
    ap.add_argument("--short", action="store_true",
                    help="3 requests (a quick check)")
    ap.add_argument("setups", nargs="*", default=["qemu-bios"])
    args = ap.parse_args()
    n = 3 if args.short else args.requests
    if n < 1:
        ap.error("--requests must be at least 1")
    for s in args.setups:
        if s not in emu.SETUPS:
            ap.error(f"unknown setup {s!r}: {', '.join(emu.SETUPS)}")
    for f, how in ((ELF, "make"), (CTL, "make")):
        if not os.path.isfile(f):
            sys.exit(f"monitor_rtt.py: no {f}: run `{how}`")
    iso = make_image()
    results, figs = [], []
    for setup in args.setups:
        try:
            emu.check_available(setup)
        except emu.MissingDependency as e:
            results.append({"setup": setup, "error": f"skipped: {e}"})
            continue
        try:
            r = measure(setup, iso, n)
        except (RttError, emu.EmuError, subprocess.TimeoutExpired) as e:
            results.append({"setup": setup,
                            "error": str(e).split("\n")[0]})
            continue
        results.append(r)
        figs += figures(r)
    text = render(results)
    benchlib.save("monitor_rtt", figs, text, requests=n, results=results)
    print(text, end="")
    return 1 if any("error" in r and not r["error"].startswith("skipped")
                    for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
