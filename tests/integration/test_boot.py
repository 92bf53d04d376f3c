"""Boot Lamina in each emulator setup and drive its serial monitor.

One boot per setup (the class-scoped `console` fixture, see conftest.py);
the checks below run in the order written, `reboot` last. The contract
they check: the banner, timestamped log lines, the `smp: N of M CPUs
online` line, the `lamina> ` prompt, the commands help, version, cpus, mem,
log and reboot, the error messages and the line editor (backspace, Ctrl-U,
history).

Setups (tools/emu.py): qemu-bios (4 CPUs), qemu-uefi and bochs-vmx (2 CPUs)
get every check; qemu-usb (2 CPUs) and bochs-svm (1 CPU) boot to the
prompt only.
"""

import re

import pytest

BANNER_RE = re.compile(r"Lamina 0\.1\.0 \(git [^)\s]+\) x86-64 "
                       r"microhypervisor\r\n")
VERSION_RE = r"Lamina 0\.1\.0 \(git "
LOG_STAMP_RE = re.compile(r"(?m)^\[\s*\d+\.\d{6}\] ")
LOG_LINE_RE = re.compile(r"^\[\s*(\d+)\.(\d{6})\] ([A-Za-z0-9_.-]+): ")
ONLINE_RE = re.compile(r"\[\s*\d+\.\d{6}\] smp: (\d+) of (\d+) CPUs online")
CPU_ROW_RE = re.compile(r"^\s*(\d+)\s+(\d+)\s+(online|offline)\b\s*(.*)$")
COMMANDS = ("help", "version", "caps", "cpus", "vms", "slots", "xlate", "mem",
            "log", "reboot", "poweroff")

CMD = pytest.mark.timeout(90)   # one command, Bochs included


def kib(lines, key):
    """The KiB value on the first line starting with `key:`."""
    for line in lines:
        m = re.match(rf"\s*{key}:\D*?(\d+)\s*KiB", line)
        if m:
            return int(m.group(1))
    pytest.fail(f"no '{key}: N KiB' line in:\n" + "\n".join(lines))


def assert_version_works(con):
    lines = con.run("version")
    assert lines and re.match(VERSION_RE, lines[0]), lines


class BootChecks:
    """What every setup must show on its way to the prompt.

    The boot itself happens in the fixture and counts against the first
    test's limit (pytest.ini: 300 s)."""

    SETUP = None

    def test_banner(self, console):
        text = console.boot_text
        m = BANNER_RE.search(text)
        assert m, "no banner line in the boot output " \
            f"(see {console.machine.serial_log})"
        assert not LOG_STAMP_RE.search(text[:m.start()]), \
            "log lines printed before the banner"

    def test_cpus_online(self, console):
        m = ONLINE_RE.search(console.boot_text)
        assert m, "no 'smp: N of M CPUs online' line"
        n = console.setup.cpus
        assert (int(m.group(1)), int(m.group(2))) == (n, n), m.group(0)

    def test_log_lines_format(self, console):
        """Every log line: `[ seconds.micros] module: text`, in time order."""
        stamps = []
        for line in console.lamina_text().split("\r\n")[1:]:
            if not line.startswith("["):
                continue
            m = LOG_LINE_RE.match(line)
            assert m, f"malformed log line {line!r}"
            stamps.append(int(m.group(1)) * 10**6 + int(m.group(2)))
        assert stamps, "no log lines after the banner"
        assert stamps == sorted(stamps), "uptime stamps go backwards"

    def test_lines_end_in_crlf(self, console):
        text = console.lamina_text()
        bare = [i for i, c in enumerate(text) if c == "\n"
                and (i == 0 or text[i - 1] != "\r")]
        if bare:
            pytest.fail(f"{len(bare)} lines end in a bare LF, the first "
                        f"after {text[max(0, bare[0] - 60):bare[0]]!r}")

    def test_prompt(self, console):
        console.require(full=True)
        assert console.boot_seconds is not None


class MonitorChecks(BootChecks):
    """The monitor's commands and line editor, then reboot."""

    @CMD
    def test_version_and_echo(self, console):
        raw = console.run_raw("version")
        assert raw.startswith("version\r\n"), \
            f"typed line not echoed: {raw[:40]!r}"
        assert_version_works(console)

    @CMD
    def test_help_lists_all_commands(self, console):
        lines = console.run("help")
        assert lines[0] == "Commands (type 'help NAME' for details):", lines
        listed = {ln.split()[0] for ln in lines[1:] if ln.strip()}
        missing = [c for c in COMMANDS if c not in listed]
        assert not missing, f"help does not list {missing}: {lines}"

    @CMD
    def test_help_topic(self, console):
        lines = console.run("help version")
        assert lines, "'help version' printed nothing"
        assert not any(ln.startswith("error:") for ln in lines), lines
        assert any("version" in ln for ln in lines), lines

    @CMD
    def test_cpus_all_online(self, console):
        lines = console.run("cpus")
        assert re.match(r"^CPU\s+APIC\s+STATE", lines[0]), lines
        rows = [CPU_ROW_RE.match(ln) for ln in lines[1:]]
        # A summary line may follow the table (`N of M CPUs online`).
        while rows and not rows[-1] and re.match(
                r"\d+ of \d+ CPUs online$", lines[len(rows)]):
            rows.pop()
        assert all(rows), f"unexpected line in: {lines}"
        n = console.setup.cpus
        assert [int(r.group(1)) for r in rows] == list(range(n)), lines
        assert all(r.group(3) == "online" for r in rows), lines
        apics = [int(r.group(2)) for r in rows]
        assert len(set(apics)) == n, f"APIC IDs not distinct: {apics}"
        assert "boot" in rows[0].group(4), f"CPU 0 not marked boot: {lines}"

    @CMD
    def test_mem_totals_plausible(self, console):
        lines = console.run("mem")
        total, free, used = (kib(lines, k) for k in ("total", "free",
                                                       "used"))
        ram = console.setup.mem_mib * 1024
        assert ram // 2 <= total <= ram, \
            f"total {total} KiB for a {ram} KiB machine"
        assert 0 < free < total, (free, total)
        assert 0 < used <= total, (used, total)
        owners = [ln for ln in lines if "KiB" in ln and not re.match(
            r"\s*(total|free|used):", ln)]
        assert owners, f"no per-owner lines: {lines}"

    @CMD
    def test_log_has_boot_lines(self, console):
        lines = console.run("log")
        m = ONLINE_RE.search(console.boot_text)
        assert m, "no 'CPUs online' line at boot to look for"
        online = m.group(0)
        assert any(online in ln for ln in lines), \
            f"{online!r} not in the log: {lines[-20:]}"

    @CMD
    def test_unknown_command(self, console):
        lines = console.run("frobnicate")
        assert lines == ["error: unknown command 'frobnicate' (type 'help' "
                         "for a list)"], lines
        assert_version_works(console)

    @CMD
    def test_empty_line(self, console):
        assert console.run("") == []
        assert_version_works(console)

    @CMD
    def test_line_too_long(self, console):
        lines = console.run("x" * 200)
        assert "error: line too long (max 127 characters)" in lines, lines
        assert_version_works(console)

    @CMD
    def test_line_length_limit_is_127(self, console):
        name = "y" * 127
        lines = console.run(name)
        assert lines == [f"error: unknown command '{name}' (type 'help' for "
                         "a list)"], lines
        lines = console.run("y" * 128)
        assert lines == ["error: line too long (max 127 characters)"], lines
        assert_version_works(console)

    @CMD
    def test_non_printable_bytes(self, console):
        console.type(b"\x01\x02\xff\r")
        console.expect(r"error: line had (\d+) non-printable bytes\r\n")
        count = int(console.machine.child.match.group(1))
        console.prompt()
        assert count == 3, f"counted {count} non-printable bytes, sent 3"
        assert_version_works(console)

    def _typed_gives_version(self, console, keys):
        """Type `keys` (ending in Enter) and expect version's output."""
        console.type(keys)
        before = console.expect(VERSION_RE)
        rest = console.prompt()
        assert "error:" not in before + rest, before + rest

    @CMD
    def test_backspace_del(self, console):
        self._typed_gives_version(console, "verx\x7fsion\r")

    @CMD
    def test_backspace_ctrl_h(self, console):
        self._typed_gives_version(console, "verx\x08sion\r")

    @CMD
    def test_ctrl_u_kills_line(self, console):
        self._typed_gives_version(console, "cpus mem junk\x15version\r")

    @CMD
    def test_history_up_arrow(self, console):
        assert_version_works(console)
        self._typed_gives_version(console, "\x1b[A\r")

    @pytest.mark.timeout(300)
    def test_reboot(self, console):
        """Last: QEMU (-no-reboot) exits; Bochs starts over from the BIOS."""
        console.type("reboot\r")
        console.expect(r"reboot: ")
        m = console.machine
        if console.setup.emulator == "qemu":
            status = m.wait(30)
            assert status is not None, "QEMU still running 30 s after reboot"
            assert status == 0, f"QEMU exit status {status} after reboot"
        else:
            console.expect(VERSION_RE, console.setup.boot_timeout)
            assert m.returncode is None, "Bochs ended on the reset"


class TestQemuBios(MonitorChecks):
    SETUP = "qemu-bios"


class TestQemuUefi(MonitorChecks):
    SETUP = "qemu-uefi"


class TestBochsVmx(MonitorChecks):
    SETUP = "bochs-vmx"


class TestQemuUsb(BootChecks):
    """The way users boot it: a USB stick. Boot to the prompt only."""
    SETUP = "qemu-usb"


class TestBochsSvm(BootChecks):
    """Bochs' AMD model (NRIPS, flush-by-ASID): boot to the prompt only."""
    SETUP = "bochs-svm"
