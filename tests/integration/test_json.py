"""JSON mode and build/lamina-ctl (docs/monitor.md, "Scripts: JSON mode and
lamina-ctl").

First lamina-ctl against a fake monitor in this process (a Unix socket and
a pseudo-terminal that answer as the monitor would, with noise, log lines
and stale replies around the reply): no emulator, exact bytes. Then Lamina
itself on QEMU (AMD SVM under TCG) and Bochs (Intel VMX), its serial port
on a Unix socket (emu.start(serial_unix=...): QEMU's own socket server, a
bridge for Bochs): every reply is one line of JSON, exit statuses, errors,
`console` refused, `json off`, and a guest printing while commands run
never splits a reply.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import ELF, LOGROOT, REPO, iso_for, setup_or_skip
import emu

CTL = os.path.join(REPO, "build", "lamina-ctl")
CONFIG = os.path.join(REPO, "tests", "configs", "boot-default.yaml")
PROMPT_RE = re.compile(r"(?m)^lamina> ")


@pytest.fixture(scope="module", autouse=True)
def need_ctl():
    if not os.path.isfile(CTL):
        pytest.fail(f"{CTL} not found: build it with `make`", pytrace=False)


def run_ctl(*args, timeout=10, text=True):
    return subprocess.run([CTL, "--timeout", str(timeout), *args],
                          capture_output=True, text=text,
                          timeout=timeout + 15)


# ---------------------------------------------------------------- fake monitor

class FakeMonitor(threading.Thread):
    """Reads lines from one client; answers each with `script[line]`
    (bytes, sent as they are) and records what it got."""

    def __init__(self, fd_or_sock, script):
        super().__init__(daemon=True)
        self.conn = fd_or_sock
        self.script = script
        self.got = []

    def _recv(self):
        if isinstance(self.conn, socket.socket):
            return self.conn.recv(4096)
        return os.read(self.conn, 4096)

    def _send(self, data):
        if isinstance(self.conn, socket.socket):
            self.conn.sendall(data)
        else:
            os.write(self.conn, data)

    def run(self):
        buf = b""
        while True:
            try:
                data = self._recv()
            except OSError:
                return
            if not data:
                return
            buf += data
            while b"\r" in buf:
                line, buf = buf.split(b"\r", 1)
                self.got.append(line)
                self._send(self.script.get(line.lstrip(b"\x15"), b""))


JSON_ON = (b"lamina> json on\r\n"
           b'{"ok":true,"cmd":"json","output":["json: on"]}\r\n')


def fake_unix(script):
    """A listening fake monitor; returns (path, server thread holder)."""
    d = tempfile.mkdtemp(prefix="lamina-fake-")
    path = os.path.join(d, "mon.sock")
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(path)
    lsock.listen(1)
    holder = {}

    def accept():
        conn, _ = lsock.accept()
        holder["mon"] = FakeMonitor(conn, script)
        holder["mon"].run()
        conn.close()

    threading.Thread(target=accept, daemon=True).start()
    return path, holder, lambda: (lsock.close(), shutil.rmtree(d))


def test_ctl_skips_noise_logs_and_stale_replies():
    script = {
        b"json on": JSON_ON,
        b"vms": (b'{"ok":true,"cmd":"version","output":["stale"]}\r\n'
                 b'{"log":"[ 1.0] vm: vm \'a\' console: {\\"ok\\":true}"}\r\n'
                 b"garbage {\r\n"
                 b'{"ok":true,"cmd":"vms","output":[" ID  NAME",'
                 b'"  1  a\\u00e9",""],"later":{"x":[1]}}\r\n'),
    }
    path, holder, cleanup = fake_unix(script)
    try:
        r = run_ctl("--unix", path, "vms", text=False)
    finally:
        cleanup()
    assert r.returncode == 0, r.stderr
    # \u00e9 is the byte 0xe9, as the monitor escaped it.
    assert r.stdout == b" ID  NAME\n  1  a\xe9\n\n"
    assert r.stderr == b""
    assert holder["mon"].got == [b"\x15json on", b"vms"]


def test_ctl_error_status_and_stderr():
    script = {
        b"json on": JSON_ON,
        b"frob x": (b'{"ok":false,"cmd":"frob","error":"unknown command '
                    b'\'frob\'","output":["partial"],"truncated":true}\r\n'),
    }
    path, _, cleanup = fake_unix(script)
    try:
        r = run_ctl("--unix", path, "frob", "x")
    finally:
        cleanup()
    assert r.returncode == 1
    assert r.stdout == "partial\n"
    assert r.stderr == ("error: unknown command 'frob'\n"
                        "lamina-ctl: the reply was truncated\n")


def test_ctl_json_output_and_rejected_line():
    """--json prints the reply line as it came; a reply with "cmd":""
    (the editor rejected the line) answers the command too."""
    line = b'{"ok":false,"cmd":"","error":"line too long","output":[]}'
    path, _, cleanup = fake_unix({b"json on": JSON_ON,
                                  b"version": line + b"\r\n"})
    try:
        r = run_ctl("--json", "--unix", path, "version")
    finally:
        cleanup()
    assert r.returncode == 1
    assert r.stdout == line.decode() + "\n"
    assert r.stderr == ""


def test_ctl_on_a_pty():
    """--serial on a pseudo-terminal: raw mode, the same exchange."""
    master, slave = os.openpty()
    mon = FakeMonitor(master, {
        b"json on": JSON_ON,
        b"version": b'{"ok":true,"cmd":"version","output":["Lamina x"]}\r\n',
    })
    mon.start()
    try:
        r = run_ctl("--serial", os.ttyname(slave), "--baud", "115200",
                    "version")
    finally:
        os.close(slave)
        os.close(master)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Lamina x\n"


def test_ctl_times_out_and_usage():
    # A monitor that never answers: status 2 after --timeout.
    path, _, cleanup = fake_unix({})
    try:
        t0 = time.monotonic()
        r = run_ctl("--unix", path, "version", timeout=1)
        took = time.monotonic() - t0
    finally:
        cleanup()
    assert r.returncode == 2
    assert "no reply to 'json' in time" in r.stderr
    assert took < 5
    for args in ([], ["version"], ["--unix", "/nonexistent/sock", "version"],
                 ["--unix", "x", "--serial", "y", "version"],
                 ["--unix", "x"], ["--unix", "x", "bad\x01byte"],
                 ["--unix", "x", "a" * 200], ["--unix", "x", " "],
                 ["--timeout", "0", "--unix", "x", "version"],
                 ["--bogus", "--unix", "x", "version"],
                 ["--serial", "/dev/null", "--baud", "12", "version"]):
        r = subprocess.run([CTL, *args], capture_output=True, text=True,
                           timeout=15)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stdout == ""
        assert r.stderr.startswith("lamina-ctl: ") or \
            r.stderr.startswith("usage: ") or "unrecognized" in r.stderr


# ---------------------------------------------------------------- Lamina

class _JsonTests:
    """Run in order against one boot; SETUP names the emulator."""

    SETUP = None

    @pytest.fixture(scope="class")
    def m(self):
        setup = setup_or_skip(self.SETUP, ELF)
        iso = iso_for("", CONFIG)
        sockdir = tempfile.mkdtemp(prefix="lamina-json-")
        machine = emu.start(setup, iso,
                            os.path.join(LOGROOT, f"json-{setup.name}"),
                            serial_unix=os.path.join(sockdir, "serial.sock"))
        try:
            machine.expect(PROMPT_RE, setup.boot_timeout)
            yield machine
        finally:
            machine.stop()
            shutil.rmtree(sockdir, ignore_errors=True)

    def ctl(self, m, *args):
        t = 60 if m.setup.emulator == "bochs" else 20
        return run_ctl("--unix", m.serial_unix, *args, timeout=t)

    def reply(self, m, *args):
        """--json: the one line, parsed, and the exit status."""
        r = self.ctl(m, "--json", *args)
        assert r.stdout.count("\n") == 1 and r.stdout.endswith("\n"), \
            (r.stdout, r.stderr)
        return r.returncode, json.loads(r.stdout)

    def test_version(self, m):
        r = self.ctl(m, "version")
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert re.match(r"Lamina \d+\.\d+\.\d+ \(git \S+\) x86-64 "
                        r"microhypervisor$", lines[0])
        assert lines[1].startswith("monitor protocol 1, built with gcc ")
        assert r.stderr == ""

    def test_reply_schema(self, m):
        rc, rep = self.reply(m, "version")
        assert rc == 0
        assert list(rep) == ["ok", "cmd", "output"]
        assert rep["ok"] is True and rep["cmd"] == "version"
        assert len(rep["output"]) == 2

    def test_vms(self, m):
        r = self.ctl(m, "vms")
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0].split()[:3] == ["ID", "NAME", "STATE"]
        assert re.match(r"\s+1\s+alpha\s+created\s", lines[1])
        assert re.match(r"\s+2\s+beta\s+created\s", lines[2])

    def test_unknown_command(self, m):
        r = self.ctl(m, "frobnicate", "now")
        assert r.returncode == 1
        assert r.stdout == ""
        assert r.stderr == ("error: unknown command 'frobnicate' "
                            "(type 'help' for a list)\n")
        rc, rep = self.reply(m, "frobnicate")
        assert rc == 1
        assert rep == {"ok": False, "cmd": "frobnicate",
                       "error": "unknown command 'frobnicate' (type 'help' "
                                "for a list)", "output": []}

    def test_wrong_arguments(self, m):
        for args, usage in ((["cpus", "3"], "cpus"),
                            (["start"], "start VM"),
                            (["json", "maybe"], "json [on|off]")):
            r = self.ctl(m, *args)
            assert r.returncode == 1, args
            assert r.stderr == f"error: usage: {usage}\n"
        r = self.ctl(m, "slots", "nosuchvm")
        assert r.returncode == 1
        assert r.stderr.startswith("error: ")

    def test_help_is_one_line(self, m):
        rc, rep = self.reply(m, "help")
        assert rc == 0 and rep["ok"]
        out = rep["output"]
        assert out[0] == "Commands (type 'help NAME' for details):"
        assert any(ln.startswith("  json [on|off]") for ln in out)
        assert any(ln.startswith("  console VM") for ln in out)
        assert len(json.dumps(rep)) > 1000

    def test_log_is_one_line(self, m):
        rc, rep = self.reply(m, "log")
        assert rc == 0 and rep["ok"] and rep["cmd"] == "log"
        assert any("boot: ready in" in ln for ln in rep["output"])
        assert all(re.match(r"\[\s*\d+\.\d{6}\] ", ln)
                   for ln in rep["output"])

    def test_console_refused(self, m):
        r = self.ctl(m, "console", "alpha")
        assert r.returncode == 1
        assert r.stderr == ("error: 'console' takes over the serial line: "
                            "not in JSON mode (send 'json off' first)\n")
        # The monitor still answers.
        assert self.ctl(m, "version").returncode == 0

    def test_editor_errors_and_empty_lines(self, m):
        """Through the socket itself: a line too long or with control
        bytes gets an error reply with "cmd":""; empty lines get none; no
        echo, no prompt, only JSON lines."""
        with Client(m) as c:
            c.send("\x15" + "x" * 200 + "\r")
            assert c.reply() == {"ok": False, "cmd": "",
                                 "error": "line too long (max 127 "
                                          "characters)", "output": []}
            c.send("ab\x01c\r")
            assert c.reply()["error"] == "line had 1 non-printable bytes"
            c.send("\r\r \r")
            c.send("version\r")
            assert c.reply()["cmd"] == "version"
            assert c.noise == []

    def test_guest_output_does_not_split_replies(self, m):
        """alpha (tests/guests/hello32.asm on pCPU 1) prints while the
        monitor answers commands: every line on the serial port is one
        whole JSON object, and the guest's lines come as {"log":...}
        lines. One command at a time, as lamina-ctl does: the monitor
        reads the UART between commands, and Bochs drops what does not
        fit its 16-byte receive FIFO."""
        cmds = ["start alpha"] + ["stats alpha", "vms", "help"] * 3
        replies = []
        with Client(m) as c:
            c.send("json on\r")
            assert c.reply()["cmd"] == "json"
            for cmd in cmds:
                c.send(cmd + "\r")
                replies.append(c.reply())
            c.wait_log("vm 'alpha' stopped: debug-exit")
            assert c.noise == []
        assert [r["cmd"] for r in replies] == [x.split()[0] for x in cmds]
        assert all(r["ok"] for r in replies), replies
        assert replies[0]["output"] == ["vm 'alpha' started on pCPU 1"]
        assert all(r == replies[3] for r in replies[3::3])  # help, whole
        for text in ("hello from a raw32 guest", "SUMMARY: done"):
            assert any(f"vm 'alpha' console: {text}" in log
                       for log in c.logs), c.logs
        r = self.ctl(m, "stats", "alpha")
        assert r.returncode == 0
        assert r.stdout.startswith("vm 'alpha': stopped: debug-exit")

    def test_json_off_returns_the_prompt(self, m):
        with Client(m) as c:
            c.send("json off\r")
            assert c.reply() == {"ok": True, "cmd": "json",
                                 "output": ["json: off"]}
            c.wait_for("lamina> ")
            c.send("version\r")
            text = c.wait_for("lamina> ")
            assert text.startswith("version\r\nLamina ")
        # lamina-ctl finds its way back from text mode.
        r = self.ctl(m, "json")
        assert r.returncode == 0 and r.stdout == "json: on\n"


class Client:
    """The monitor's socket, read line by line (socket mode is one client
    at a time, so this one must close before lamina-ctl connects)."""

    def __init__(self, m):
        self.m = m
        self.timeout = 60 if m.setup.emulator == "bochs" else 20
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(m.serial_unix)
        self.buf = b""
        self.noise = []
        self.logs = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()

    def send(self, text):
        self.sock.sendall(text.encode("latin-1"))

    def _more(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no reply in time; got {self.buf!r}, "
                                 f"noise {self.noise!r}")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            data = b""
        if not data and time.monotonic() < deadline:
            raise AssertionError("the socket closed")
        self.buf += data

    def _line(self, deadline):
        while b"\n" not in self.buf:
            self._more(deadline)
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("latin-1")

    def _next(self, deadline):
        """The next JSON object; log lines are kept in self.logs, lines
        that are not JSON in self.noise. A line that starts like JSON but
        does not parse fails the test."""
        while True:
            line = self._line(deadline)
            if not line.startswith("{"):
                self.noise.append(line)
                continue
            obj = json.loads(line)
            if set(obj) == {"log"}:
                self.logs.append(obj["log"])
            return obj

    def reply(self):
        """The next command reply."""
        deadline = time.monotonic() + self.timeout
        while True:
            obj = self._next(deadline)
            if "ok" in obj:
                assert set(obj) <= {"ok", "cmd", "error", "output",
                                    "truncated"}, obj
                return obj

    def wait_log(self, text):
        """Read on until a log line holds `text`."""
        deadline = time.monotonic() + self.timeout
        while not any(text in log for log in self.logs):
            self._next(deadline)

    def wait_for(self, text):
        """Everything up to `text`, which is consumed."""
        deadline = time.monotonic() + self.timeout
        while text.encode() not in self.buf:
            self._more(deadline)
        before, self.buf = self.buf.split(text.encode(), 1)
        return before.decode("latin-1")


@pytest.mark.timeout(300)
class TestJsonQemu(_JsonTests):
    SETUP = "qemu-bios"


@pytest.mark.timeout(600)
class TestJsonBochs(_JsonTests):
    SETUP = "bochs-vmx"
