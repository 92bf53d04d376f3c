"""TSC calibration sources (drivers/time.c, issue 9) on qemu-bios: each of
tsc.source=pmtimer, hpet and pit is used and named in the log line, the
three measure the same TSC within a few percent (a correctness check, not
a timing one: QEMU's timers and TCG's TSC both follow the host's clock), a
value Lamina does not know is refused with the default order kept, and an
HPET asked for on a machine without one (-machine hpet=off) falls back to
the PM timer with a message that says why.
"""

import os
import re

import pytest

from conftest import ELF, LOGROOT, Console, emu, iso_for, setup_or_skip

SETUP = "qemu-bios"
TSC_RE = re.compile(r"time: TSC (\d+)\.(\d{3}) MHz \(([^)]*)\)")
NAMES = {"pmtimer": "ACPI PM timer", "hpet": "HPET", "pit": "PIT"}
AGREE = 0.05  # TCG on a busy 2-core host: a few percent
BOOT = pytest.mark.timeout(180)


def boot_log(cmdline, logname, extra_args=()):
    """Lamina's boot log up to the prompt, booted with `cmdline`."""
    setup = setup_or_skip(SETUP, ELF)
    machine = emu.start(setup, iso_for(cmdline, None),
                        os.path.join(LOGROOT, logname), extra_args=extra_args)
    con = Console(machine, setup)
    try:
        con.boot()
        con.require(full=True)
        return con.boot_text
    finally:
        machine.stop()


def tsc_line(text):
    """(MHz, what is in the parentheses) of the one TSC line."""
    found = TSC_RE.findall(text)
    assert len(found) == 1, f"want one TSC line, got {found}:\n{text[-3000:]}"
    whole, frac, source = found[0]
    return int(whole) + int(frac) / 1000, source


_measured = {}


def measured(option):
    """The TSC MHz that tsc.source=`option` gives, booted once per session."""
    if option not in _measured:
        text = boot_log(f"tsc.source={option}", f"time-{option}")
        assert "falling back" not in text and "unknown (" not in text, text
        _measured[option] = tsc_line(text)
    return _measured[option]


@BOOT
@pytest.mark.parametrize("option", list(NAMES))
def test_source_named(option):
    mhz, source = measured(option)
    # QEMU 7.2 TCG has no CPUID 0x15/0x16: the measurement is used as is.
    assert source == NAMES[option], source
    assert 100 < mhz < 100000, mhz


@BOOT
def test_sources_agree():
    got = {o: measured(o)[0] for o in NAMES}
    lo, hi = min(got.values()), max(got.values())
    assert hi - lo <= AGREE * lo, f"TSC per source (MHz): {got}"


@BOOT
def test_unknown_source_refused():
    text = boot_log("tsc.source=rtc", "time-unknown")
    assert ("time: tsc.source=rtc: unknown (pmtimer, hpet or pit); "
            "using the default order") in text, text
    _, source = tsc_line(text)
    assert source == NAMES["pmtimer"], source  # the first of the default order


@BOOT
def test_hpet_absent_falls_back():
    text = boot_log("tsc.source=hpet", "time-no-hpet",
                    extra_args=["-machine", "hpet=off"])
    assert "acpi: HPET at" not in text, "QEMU still offered an HPET"
    assert ("time: tsc.source=hpet: HPET: no ACPI HPET table; falling back "
            "to the default order") in text, text
    _, source = tsc_line(text)
    assert source == NAMES["pmtimer"], source
