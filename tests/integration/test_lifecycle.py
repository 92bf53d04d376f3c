"""VM lifecycle from the monitor, on AMD SVM (qemu-bios): `create` and
`destroy` 200 times with the free memory (`mem`) back where it was after
each cycle; `pause`, `resume`, `reset` and `destroy` of a running VM;
`regs` (read and set), `x` and `w` on a paused or stopped VM; every
misuse one `error:` line; the crash policies of the config (`crash:
stop`, `dump`, `restart` with its budget) and `dump`.

The guests: tests/guests/crash32.asm as 'tiny' (2 MiB; at entry 0x100000
it waits in a loop that touches no register but EFLAGS until a mode is
written to its 0x7000) and as the crash-policy VMs (entered at 0x100010:
a triple fault at once, again after every restart); tests/guests/
cksum32.asm as 'cksum', which checks its own memory for ever, so a pause,
resume or destroy that disturbed it prints FAIL."""

import os
import re
import time

import pytest

from conftest import REPO, booted
from test_guests import CFG
from test_isolation import command, console_failures, end_line, \
    one_line, reply_lines, rounds, start_and_wait, stats, wait_round_after

LIFECYCLE = os.path.join(CFG, "guest-lifecycle.yaml")
CRASH_POLICY = os.path.join(CFG, "guest-crash-policy.yaml")
CRASH32 = os.path.join(REPO, "build", "guests", "crash32.bin")
CKSUM32 = os.path.join(REPO, "build", "guests", "cksum32.bin")

CYCLES = 200
BATCH = 10            # create/destroy cycles typed at once
ROUND_WAIT = 60


# ---------------------------------------------------------------- helpers

def image_range(path, base=0x100000):
    """The guest-physical range a flat image loaded at `base` covers."""
    return range(base, base + os.path.getsize(path))


def wait_loop(path=CRASH32):
    """Where crash32 waits for its mode: its first instruction is a short
    JMP to the loop, 13 bytes (CMP mem/imm8, JNE, PAUSE, JMP)."""
    with open(path, "rb") as f:
        head = f.read(2)
    assert head[0] == 0xeb, "crash32 no longer starts with a short JMP"
    start = 0x100002 + head[1]
    return range(start, start + 13)


def register(lines, name):
    """A register's value from `regs` output: NAME, then maybe ':' or
    '=', then hex (0x optional)."""
    for line in lines:
        m = re.search(rf"(?i)\b{name}\b\s*[:=]?\s*(?:0x)?([0-9a-f]+)\b",
                      line)
        if m:
            return int(m.group(1), 16)
    raise AssertionError(f"no {name} in {lines}")


def dumped_bytes(lines, gpa):
    """The bytes of `x` output, whose first line starts at `gpa`; each
    line: 0x + 16 hex digits, ':', bytes, then the characters in |..|."""
    out = []
    for i, line in enumerate(lines):
        m = re.fullmatch(r"0x([0-9a-f]{16}): ((?:[0-9a-f]{2} ?)+) +\|.*\|",
                         line)
        assert m, line
        if i == 0:
            assert int(m.group(1), 16) == gpa, line
        assert int(m.group(1), 16) == gpa + len(out), (line, len(out))
        out += [int(b, 16) for b in m.group(2).split()]
    return bytes(out)


def mem_free(lines):
    """KiB on the `mem` output's free: line."""
    for line in lines:
        m = re.fullmatch(r"free:\s+(\d+) KiB", line)
        if m:
            return int(m.group(1))
    raise AssertionError(f"no free: line in {lines}")


def batch(con, lines, timeout=60):
    """Type all `lines` at once (the monitor reads ahead as it goes);
    return each one's reply lines."""
    con.type("".join(line + "\r" for line in lines))
    return [reply_lines(con.prompt(timeout), line) for line in lines]


def is_error(reply):
    """Exactly one line, an error, from the command itself (not the
    dispatcher's "unknown command", which says nothing of the checks)."""
    return len(reply) == 1 and reply[0].startswith("error: ") and \
        "unknown command" not in reply[0]


def no_error(reply):
    return not [line for line in reply if line.startswith("error")]


def paused_in(con, vm):
    """`pause VM`; the microseconds it reports."""
    m = one_line(con, f"pause {vm}", rf"vm '{vm}' paused in (\d+) us")
    print(f"pause {vm}: {m.group(1)} us")
    return int(m.group(1))


def settle(con, seconds):
    """Let the machine run `seconds`, then sync on a `version` reply: all
    it printed meanwhile is in the transcript. (The output waits on the
    line meanwhile: reading it past pexpect, as Machine._drain does, would
    cut a line of which pexpect holds the first part.)"""
    time.sleep(seconds)
    con.type("version\r")
    con.expect(r"monitor protocol \d+[^\r\n]*\r\n")
    con.prompt()


def quiet_for(con, vm, seconds, since):
    """Nothing from the VM on the console for `seconds` after the last
    `since` (a reply line) in the output."""
    settle(con, seconds)
    text = con.machine.transcript.text()
    later = text[text.rindex(since):]
    assert f"vm '{vm}' console:" not in later, later


# ---------------------------------------------------------------- lifecycle

@pytest.mark.timeout(300)
class TestLifecycle:
    SETUP = "qemu-bios"
    cycles, batch_size = CYCLES, BATCH

    @pytest.fixture(scope="class")
    def con(self, request):
        with booted(self.SETUP, logname=f"lifecycle-{self.SETUP}",
                    config=LIFECYCLE) as con:
            con.require(full=True)
            yield con

    def test_create_destroy_cycles(self, con):
        """200 x destroy, create, mem: free memory back to where it was
        with the VM created at boot, after every cycle."""
        baseline = mem_free(command(con, "mem"))
        cycle = ["destroy tiny", "create tiny", "mem"]
        t0 = time.monotonic()
        for first in range(0, self.cycles, self.batch_size):
            replies = batch(con, cycle * self.batch_size)
            for i in range(self.batch_size):
                n = first + i + 1
                gone, made, mem = replies[3 * i:3 * i + 3]
                assert gone == ["vm 'tiny' destroyed"], (n, gone)
                assert len(made) == 1 and re.fullmatch(
                    r"vm 'tiny' created \(id \d+\)", made[0]), (n, made)
                assert mem_free(mem) == baseline, (n, mem, baseline)
        took = time.monotonic() - t0
        print(f"{self.cycles} create/destroy cycles in {took:.1f} s")
        rows = [r for r in command(con, "vms") if re.search(r"\btiny\b", r)]
        assert len(rows) == 1, rows

    def test_pause_resume_running_vm(self, con):
        """A paused VM stops where it is and prints nothing (how fast: bench/);
        resumed, it goes on from there with its memory unchanged."""
        one_line(con, "start cksum", r"vm 'cksum' started on pCPU 2")
        last = wait_round_after(con, 0, ROUND_WAIT)
        paused_in(con, "cksum")  # its time: bench/lifecycle.py
        head, _, _ = stats(con, "cksum")
        assert head.startswith("vm 'cksum': paused"), head
        rip = register(command(con, "regs cksum"), "rip")
        assert rip in image_range(CKSUM32), hex(rip)
        quiet_for(con, "cksum", 2, "vm 'cksum' paused in ")
        last = max([last] + rounds(con.machine.transcript.text()))
        assert no_error(command(con, "resume cksum"))
        wait_round_after(con, last, ROUND_WAIT)
        head, _, _ = stats(con, "cksum")
        assert head == "vm 'cksum': running", head
        assert not console_failures(con.machine.transcript.text())

    def test_reset_running_vm(self, con):
        """`reset` of a running VM: destroyed, created, started again (it
        starts over: its first line again, then round 16)."""
        one_line(con, "reset cksum", r"vm 'cksum' reset( \(.*\))?")
        # Its first line again; the rounds after it count from 16 again.
        con.expect(r"vm 'cksum' console: cksum: 4 MiB at 0x400000", 30)
        assert wait_round_after(con, 0, ROUND_WAIT) == 16
        head, _, _ = stats(con, "cksum")
        assert head == "vm 'cksum': running", head

    def test_destroy_running_vm(self, con):
        """`destroy` of a running VM stops it and frees its pCPU: the VM
        created again starts there."""
        one_line(con, "destroy cksum", r"vm 'cksum' destroyed")
        quiet_for(con, "cksum", 2, "vm 'cksum' destroyed")
        rows = "\n".join(command(con, "vms"))
        assert not re.search(r"\bcksum\s+running\b", rows), rows
        one_line(con, "create cksum", r"vm 'cksum' created \(id \d+\)")
        one_line(con, "start cksum", r"vm 'cksum' started on pCPU 2")
        wait_round_after(con, 0, ROUND_WAIT)
        one_line(con, "destroy cksum", r"vm 'cksum' destroyed")
        assert not console_failures(con.machine.transcript.text())

    def test_regs_of_paused_vm(self, con):
        """A paused vCPU's RIP is in the guest's wait loop (once it had
        the time to get there: a pause right after `start` may find it
        before its first instruction, at the entry point)."""
        one_line(con, "start tiny", r"vm 'tiny' started on pCPU 1")
        time.sleep(0.5)
        paused_in(con, "tiny")  # its time: bench/lifecycle.py
        for line in ("regs tiny", "regs tiny 0"):
            rip = register(command(con, line), "rip")
            assert rip in wait_loop(), (line, hex(rip))

    def test_regs_set(self, con):
        """`regs VM 0 set rax 0x1234` reaches the vCPU: shown at once,
        and still there after the guest ran on (its loop leaves RAX
        alone)."""
        assert no_error(command(con, "regs tiny 0 set rax 0x1234"))
        reply = command(con, "regs tiny 0 set nosuchreg 1")
        assert is_error(reply) and "nosuchreg" in reply[0], reply
        assert register(command(con, "regs tiny"), "rax") == 0x1234
        assert no_error(command(con, "resume tiny"))
        time.sleep(0.5)
        paused_in(con, "tiny")  # its time: bench/lifecycle.py
        regs = command(con, "regs tiny")
        assert register(regs, "rax") == 0x1234, regs
        assert register(regs, "rip") in wait_loop(), regs

    def test_x_w_round_trip(self, con):
        """`w` then `x` at the same GPA: the same bytes, the rest zero."""
        one_line(con, "w tiny 0x8000 deadbeef00ff7f41",
                 r"wrote 8 bytes at GPA 0x0*8000")
        data = dumped_bytes(command(con, "x tiny 0x8000 8"), 0x8000)
        assert data == bytes.fromhex("deadbeef00ff7f41"), data.hex()
        data = dumped_bytes(command(con, "x tiny 0x8000 40"), 0x8000)
        assert data == bytes.fromhex("deadbeef00ff7f41") + bytes(32), \
            data.hex()
        # The image as the config loaded it: crash32's first bytes.
        with open(CRASH32, "rb") as f:
            image = f.read(16)
        assert dumped_bytes(command(con, "x tiny 0x100000 16"),
                            0x100000) == image

    def test_w_reaches_the_guest(self, con):
        """Mode 2 written into the paused guest's 0x7000: resumed, it
        reads outside every slot and crashes."""
        one_line(con, "w tiny 0x7000 02000000",
                 r"wrote 4 bytes at GPA 0x0*7000")
        con.type("resume tiny\r")
        con.expect(end_line("tiny"), 30)
        m = con.machine.child.match
        assert m.group(1) == "crashed", m.group(0)
        assert m.group(2).startswith(
            "nested page fault: read at GPA 0x40000000"), m.group(0)
        con.type("version\r")
        con.expect(r"monitor protocol \d+[^\r\n]*\r\n")
        con.prompt()
        regs = command(con, "regs tiny")
        assert register(regs, "rip") in image_range(CRASH32), regs

    def test_errors(self, con):
        """Every misuse: one `error:` line, and the monitor goes on."""
        bad = [
            "regs nosuch", "x nosuch 0x0 4", "w nosuch 0x0 00",
            "pause nosuch", "resume nosuch", "destroy nosuch",
            "dump nosuch", "reset nosuch",
            "create nosuch",                # no such config record
            "create tiny",                  # exists already
            "regs tiny 7",                  # a vCPU it does not have
            "x tiny 0x40000000 16",         # no memory there
            "w tiny 0x40000000 00",
            "w tiny 0x1ffffe 01020304",     # runs past the end of RAM
            "x tiny 0x0 1048576",           # too long to dump (1 MiB)
            "w tiny 0x8000 zz",             # not hex
            "w tiny 0x8000 abc",            # half a byte
        ]
        for line in bad:
            reply = command(con, line)
            assert is_error(reply), (line, reply)
        # A running VM's registers are not there to read.
        one_line(con, "destroy tiny", r"vm 'tiny' destroyed")
        one_line(con, "create tiny", r"vm 'tiny' created \(id \d+\)")
        one_line(con, "start tiny", r"vm 'tiny' started on pCPU 1")
        reply = command(con, "regs tiny")
        assert is_error(reply) and "pause it first" in reply[0], reply
        one_line(con, "destroy tiny", r"vm 'tiny' destroyed")
        assert command(con, "version")[0].startswith("Lamina ")


# ---------------------------------------------------------------- crash policies

# The log line of each crash (whatever the restart policy adds to it).
CRASHED_RESTARTER = r"vm 'restarter' crashed\b[^\r\n]*triple fault"


def register_lines(report):
    """The lines of a crash report that show general registers."""
    return [line.strip() for line in report
            if re.search(r"(?i)\b(rax|rsp)\b", line)]


@pytest.mark.timeout(300)
class TestCrashPolicies:
    """crash: stop keeps the report for `dump`; crash: dump prints it at
    once too; crash: restart recreates and starts the VM again, at most
    restart_budget times."""
    SETUP = "qemu-bios"

    @pytest.fixture(scope="class")
    def con(self, request):
        with booted(self.SETUP, logname=f"crash-policy-{self.SETUP}",
                    config=CRASH_POLICY) as con:
            con.require(full=True)
            yield con

    def crash(self, con, vm):
        """Start `vm` (crash32 mode 1), wait for its crash; then the
        output up to now, once anything printed with the crash is in,
        and the `dump` reply."""
        state, reason = start_and_wait(con, vm, 30)
        assert state == "crashed", (state, reason)
        assert reason.startswith("triple fault (shutdown) at rip 0x"), reason
        settle(con, 1)
        before = con.machine.transcript.text()
        report = command(con, f"dump {vm}")
        assert report and "no crash report" not in "\n".join(report), report
        assert "triple fault" in "\n".join(report), report
        assert register_lines(report), report
        return before, report

    def test_no_report_before_a_crash(self, con):
        reply = command(con, "dump keeper")
        assert len(reply) == 1 and "no crash report" in reply[0], reply

    def test_stop_keeps_the_report(self, con):
        """crash: stop: the report is kept, not printed at the crash."""
        before, report = self.crash(con, "keeper")
        printed = [ln for ln in register_lines(report) if ln in before]
        assert not printed, printed
        rows = "\n".join(command(con, "vms"))
        assert re.search(r"\bkeeper\s+crashed\b", rows), rows

    def test_dump_prints_the_report(self, con):
        """crash: dump: the report `dump` shows was printed at the crash."""
        before, report = self.crash(con, "dumper")
        missing = [ln for ln in register_lines(report) if ln not in before]
        assert not missing, (missing, before[-4000:])

    def test_restart_budget(self, con):
        """restart_budget 2: three runs, three crashes, then it stays
        down, the log says why; no memory lost on the way."""
        baseline = mem_free(command(con, "mem"))
        seen = len(con.machine.transcript.text())
        con.type("start restarter\r")
        for _ in range(3):
            con.expect(CRASHED_RESTARTER, 60)
        settle(con, 3)                      # no fourth run
        text = con.machine.transcript.text()[seen:]
        runs = re.findall(r"vm 'restarter' console: crash32: mode 1: "
                          r"triple fault", text)
        crashes = re.findall(CRASHED_RESTARTER, text)
        assert (len(runs), len(crashes)) == (3, 3), text[-4000:]
        # `log` replays log lines: command() would take them all out.
        log = [ln for ln in con.run("log") if "'restarter'" in ln]
        assert [ln for ln in log if re.search(r"(?i)budget", ln)], log
        rows = "\n".join(command(con, "vms"))
        assert re.search(r"\brestarter\s+(stopped|crashed)\b", rows), rows
        head, _, _ = stats(con, "restarter")
        assert not head.startswith("vm 'restarter': running"), head
        # The crashed VM keeps what it had (its report, too): its memory
        # is all back once it is destroyed, as it was when created.
        one_line(con, "destroy restarter", r"vm 'restarter' destroyed")
        one_line(con, "create restarter",
                 r"vm 'restarter' created \(id \d+\)")
        assert mem_free(command(con, "mem")) == baseline
        assert command(con, "version")[0].startswith("Lamina ")
