"""Fixtures for the integration tests: one boot per setup, a monitor driver.

Each test class names a setup of tools/emu.py in SETUP. The class-scoped
`console` fixture boots an image of tests/configs/boot-default.yaml (or
--iso) there once and waits for the
monitor prompt; the class's tests then run in order against that boot.
Logs of every run stay in build/test-logs/SETUP/ (serial.log, the
emulator's log, the command line).

A setup whose emulator or firmware is missing is skipped with the Debian
package to install. When the machine panics, exits or stops answering,
the remaining tests of its class fail at once with the first error instead
of each waiting for its own timeout.
"""

import contextlib
import glob
import json
import os
import re
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools"))
import emu  # noqa: E402

LOGROOT = os.path.join(REPO, "build", "test-logs")
ISO_DIR = os.path.join(REPO, "build", "test-iso")
ELF = os.path.join(REPO, "build", "lamina-stripped.elf")
MKISO = os.path.join(REPO, "tools", "mkiso.sh")

# The prompt starts a line: the echo of a typed line never matches it.
PROMPT_RE = re.compile(r"(?m)^lamina> ")
# ANSI escape sequences (GRUB draws with them; an editor may redraw).
ANSI_RE = re.compile(r"\x1b\[[0-9;?=]*[A-Za-z]")


def pytest_addoption(parser):
    parser.addoption("--iso", default=os.environ.get("LAMINA_ISO"),
                     help="image the class-scoped `console` boots (default: "
                          "one built for tests/configs/boot-default.yaml; "
                          "or $LAMINA_ISO)")


def pytest_sessionstart(session):
    session.config._lamina_t0 = time.time()


class Console:
    """The monitor on one booted machine."""

    def __init__(self, machine, setup):
        self.machine = machine
        self.setup = setup
        self.boot_text = ""
        self.boot_seconds = None
        self.broken = None      # first error that made the line unusable

    # -- the boot
    def boot(self):
        """Wait for the first prompt; keep what came before it."""
        m = self.machine
        try:
            m.expect(PROMPT_RE, self.setup.boot_timeout)
            self.boot_seconds = time.monotonic() - m.started
            self.boot_text = m.child.before
        except emu.EmuError as e:
            self.broken = e
            self.boot_text = m.transcript.text()
        self._record()

    def _record(self):
        with open(os.path.join(self.machine.logdir, "boot.json"), "w") as f:
            json.dump({"setup": self.setup.name,
                       "prompt_seconds": self.boot_seconds,
                       "error": str(self.broken).split("\n")[0]
                       if self.broken else None}, f)

    def lamina_text(self):
        """Boot output from Lamina's banner on (GRUB's part cut off)."""
        m = re.search(r"Lamina \d+\.\d+\.\d+ \(git ", self.boot_text)
        return self.boot_text[m.start():] if m else ""

    # -- commands
    def require(self, full=False):
        """Fail now when an earlier error left no usable prompt (with the
        serial output's end only when `full`: the first report has it)."""
        if self.broken is not None:
            why = str(self.broken) if full else \
                str(self.broken).split("\n")[0]
            pytest.fail(f"{self.setup.name} unusable since an earlier "
                        f"error: {why}", pytrace=False)

    def type(self, data):
        self.require()
        self.machine.send(data)

    def expect(self, pattern, timeout=None):
        """Wait for `pattern`; return the text before it (the match is
        self.machine.child.match). Any error poisons this console."""
        self.require()
        try:
            self.machine.expect(pattern, timeout or self.command_timeout)
        except emu.EmuError as e:
            self.broken = e
            raise
        return self.machine.child.before

    def prompt(self, timeout=None):
        """Wait for the next prompt; return the output before it."""
        return self.expect(PROMPT_RE, timeout)

    def run_raw(self, line, timeout=None):
        """Type `line` and Enter; return everything up to the next prompt
        (the echo included)."""
        self.type(line + "\r")
        return self.prompt(timeout)

    def run(self, line, timeout=None):
        """Type `line` and Enter; return its output lines (echo dropped)."""
        return output_lines(self.run_raw(line, timeout))

    @property
    def command_timeout(self):
        return 30 if self.setup.emulator == "bochs" else 15


def output_lines(raw):
    """Split a command's output into lines; the first line (the echo of
    what was typed) is dropped, ANSI sequences removed."""
    lines = ANSI_RE.sub("", raw).replace("\r\n", "\n").split("\n")
    lines = [ln.rstrip("\r ") for ln in lines[1:]]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def setup_or_skip(name, iso):
    setup = emu.SETUPS[name]
    try:
        emu.check_available(setup)
    except emu.MissingDependency as e:
        pytest.skip(f"SKIP {name}: {e}")
    if not os.path.isfile(iso):
        pytest.fail(f"{iso} not found: build it with `make iso`",
                    pytrace=False)
    return setup


# Two VMs that start only when asked (configs/demo.yaml autostarts its own).
DEMO_CONFIG = os.path.join(REPO, "tests", "configs", "boot-default.yaml")
CFG_TOOL = os.path.join(REPO, "build", "lamina-cfg")


def iso_for(cmdline, config=DEMO_CONFIG):
    """An image that boots Lamina with `cmdline` and `config` (a YAML file,
    a blob .bin, or None for no config), made once per build of the ELF
    (several xdist workers may ask at once: each writes its own file and
    renames it into place)."""
    tag = os.path.basename(config) if config else "noconfig"
    name = re.sub(r"[^A-Za-z0-9_.=-]+", "_", f"{cmdline}-{tag}")
    path = os.path.join(ISO_DIR, name + ".iso")
    # The guest images a config names are in the image too.
    images = glob.glob(os.path.join(REPO, "build", "guests", "*.bin")) + \
        glob.glob(os.path.join(REPO, "build", "linux", "*.gz")) + \
        glob.glob(os.path.join(REPO, "build", "linux", "bzImage")) + \
        glob.glob(os.path.join(REPO, "build", "linux", "vmlinux"))
    newest = max(os.path.getmtime(p)
                 for p in (ELF, CFG_TOOL, config or ELF, *images))
    if os.path.exists(path) and os.path.getmtime(path) >= newest:
        return path
    os.makedirs(ISO_DIR, exist_ok=True)
    tmp = f"{path}.{os.getpid()}"
    subprocess.run([MKISO, tmp, ELF, cmdline, config or ""], check=True,
                   capture_output=True)
    os.replace(tmp, path)
    return path


@contextlib.contextmanager
def booted(setup_name, cmdline="", logname=None, config=DEMO_CONFIG):
    """Boot `setup_name` with kernel command line `cmdline` and `config`;
    yield the Console once the boot ended (at a prompt, or not: see
    .broken)."""
    setup = setup_or_skip(setup_name, ELF)
    logdir = os.path.join(LOGROOT, logname or f"{setup_name}-{cmdline}")
    machine = emu.start(setup, iso_for(cmdline, config), logdir)
    con = Console(machine, setup)
    try:
        con.boot()
        yield con
    finally:
        machine.stop()


@pytest.fixture(scope="class")
def console(request):
    """Boot the class's SETUP once; stop it after the class's last test."""
    # Not the demo (build/lamina.iso): its VMs start at boot and their
    # output would land among the replies these tests read (test_demo.py
    # boots the demo itself).
    iso = request.config.getoption("iso") or iso_for("")
    setup = setup_or_skip(request.cls.SETUP, iso)
    logdir = os.path.join(LOGROOT, setup.name)
    machine = emu.start(setup, iso, logdir)
    con = Console(machine, setup)
    request.cls._lamina_logdir = logdir
    try:
        con.boot()
        yield con
    finally:
        machine.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    logdir = getattr(item.cls, "_lamina_logdir", None) if item.cls else None
    if rep.failed and logdir:
        rep.sections.append(("lamina logs", f"serial and emulator logs: "
                             f"{os.path.relpath(logdir, os.getcwd())}/"))


def pytest_terminal_summary(terminalreporter, config):
    """One line with each setup's time to the prompt (from boot.json files
    that this session wrote; works under xdist too)."""
    t0 = getattr(config, "_lamina_t0", None)
    if t0 is None or hasattr(config, "workerinput"):
        return
    times, failed = {}, {}
    for path in sorted(glob.glob(os.path.join(LOGROOT, "*", "boot.json"))):
        if os.path.getmtime(path) < t0:
            continue
        try:
            with open(path) as f:
                rec = json.load(f)
        except (OSError, ValueError):
            continue
        secs = rec.get("prompt_seconds")
        if secs is None:
            failed[rec["setup"]] = failed.get(rec["setup"], 0) + 1
        else:
            times.setdefault(rec["setup"], []).append(secs)
    parts = []
    for setup in sorted(set(times) | set(failed)):
        t = sorted(times.get(setup, []))
        part = f"{setup} {t[0]:.1f}-{t[-1]:.1f} s ({len(t)} boots)" if t \
            else setup
        if setup in failed:
            part += f", {failed[setup]} without a prompt (on purpose or not)"
        parts.append(part)
    if parts:
        terminalreporter.write_line("time to lamina> prompt: "
                                    + "; ".join(parts))
