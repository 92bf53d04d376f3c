"""The VM commands on both vendors, AMD SVM (QEMU) and Intel VMX (Bochs),
on the echo guest (tests/guests/echo32.asm), which polls its UART for
ever: pause and resume, registers read and set, guest memory, the guest
stage of xlate, memslots added, flagged and deleted, stats of every VM,
destroy and create back to the same free memory."""

import os
import re

import pytest

from conftest import REPO, booted

CFG = os.path.join(REPO, "tests", "configs", "guest-echo32.yaml")


def reply(con, cmd, pattern):
    """The one line of `cmd`'s reply that matches `pattern` (guest log
    lines may come with it)."""
    lines = con.run(cmd)
    hits = [m for m in (re.search(pattern, l) for l in lines) if m]
    assert hits, (cmd, lines)
    return hits[0]


def free_kib(con):
    return int(reply(con, "mem", r"^free:\s+(\d+) KiB").group(1))


@pytest.mark.timeout(300)
@pytest.mark.parametrize("setup", ["qemu-bios", "bochs-vmx"])
def test_vm_commands(setup):
    with booted(setup, logname=f"vmctl-{setup}", config=CFG) as con:
        con.require(full=True)
        reply(con, "start echo", r"vm 'echo' started on pCPU 1")
        reply(con, "pause echo", r"vm 'echo' paused in \d+ us")
        rip = int(reply(con, "regs echo", r"rip ([0-9a-f]{16})").group(1), 16)
        assert 0x100000 <= rip < 0x100200, hex(rip)   # in the poll loop
        reply(con, "regs echo 0 set rbx 0xfeedface",
              r"vm 'echo' vCPU 0: rbx = 0xfeedface")
        assert reply(con, "regs echo 0", r"rbx ([0-9a-f]{16})").group(1) == \
            "00000000feedface"
        reply(con, "resume echo", r"vm 'echo' resumed")
        reply(con, "regs echo", r"error: vm 'echo' is running: pause it first")

        reply(con, "w echo 0x8000 4c616d696e61", r"wrote 6 bytes at GPA 0x8000")
        reply(con, "x echo 0x8000 6", r"0x0000000000008000: 4c 61 6d 69 6e 61 .*\|Lamina")
        reply(con, "x echo 0x40000000 4", r"error: \[0x40000000, 0x40000004\) is not all")

        reply(con, "pause echo", r"paused in")
        reply(con, "xlate echo 0x100010", r"guest paging \(vCPU 0\): off")
        reply(con, "xlate echo 0x100010", r"GPA 0x100010 -> HPA 0x[0-9a-f]+ \(4K page, rwx, WB\)")
        reply(con, "resume echo", r"resumed")

        reply(con, "slot echo add 7 0x2000000 0x20000 log_dirty",
              r"slot 7 added at 0x2000000, 128 KiB \(generation \d+\)")
        reply(con, "slots echo", r"^\s+7\s+0x2000000\s+128 KiB .*log_dirty")
        reply(con, "dirty echo 7", r"slot 7: 0 dirty pages of 32")
        reply(con, "slot echo flags 7 none", r"slot 7 no longer logs dirty pages")
        reply(con, "dirty echo 7", r"error: .*does not log dirty pages")
        reply(con, "slot echo del 7", r"slot 7 deleted")
        reply(con, "slot echo del 7", r"error: vm 'echo' slot 7: no slot with that id")

        reply(con, "stats", r"^vm 'echo': running")
        reply(con, "irq echo 0x40", r"interrupt 0x40 queued")
        reply(con, "destroy echo", r"vm 'echo' destroyed")
        reply(con, "create echo", r"vm 'echo' created \(id \d+\)")
        # The first start made what all VMs share (I/O and MSR maps, the
        # vCPU slab page); from here on a cycle gives back everything.
        baseline = free_kib(con)
        reply(con, "start echo", r"started on pCPU 1")
        reply(con, "destroy echo", r"vm 'echo' destroyed")
        reply(con, "create echo", r"vm 'echo' created \(id \d+\)")
        assert free_kib(con) == baseline
        reply(con, "version", r"^Lamina ")
