"""hv_init(), the kvm_init analogue, on both vendors.

SVM: QEMU TCG (4 CPUs) and Bochs ryzen. VMX: Bochs Skylake-X (2 CPUs) and
Sandy Bridge (no 1G EPT pages). Every hv.fail=STEP on one SVM and one VMX
setup; a CPU whose capabilities differ (hv.test_mismatch) left out; reboot
turning virtualisation off on every CPU.
"""

import re

import pytest

from conftest import booted, output_lines

STEPS = ("arch_init", "hardware_setup", "compat_check", "hardware_enable",
         "vcpu_cache", "config", "reboot_notifier")
VENDOR = {"qemu-bios": "AMD SVM", "bochs-svm": "AMD SVM",
          "bochs-vmx": "Intel VMX", "bochs-vmx-sandy": "Intel VMX"}
ROW_RE = re.compile(r"^\s*(\d+)\s+(\d+)\s+(online|offline)\s+(on|off|-)\s+"
                    r"(\S+)")
BOOT = pytest.mark.timeout(240)


def cpu_rows(con):
    """{cpu: (virt, compat)} from `cpus`."""
    rows = {}
    for line in con.run("cpus"):
        m = ROW_RE.match(line)
        if m:
            rows[int(m.group(1))] = (m.group(4), m.group(5))
    assert rows, "no CPU rows in `cpus`"
    return rows


def steps_done(text):
    return re.findall(rf"hv: step (\d)/{len(STEPS)} '(\w+)' done in \d+ us",
                      text)


@BOOT
@pytest.mark.parametrize("setup", list(VENDOR))
def test_virtualisation_on_every_cpu(setup):
    with booted(setup, logname=f"hv-{setup}") as con:
        con.require(full=True)
        text = con.boot_text
        assert [s for _, s in steps_done(text)] == list(STEPS), text
        assert f"virtualisation on ({VENDOR[setup]})" in text
        rows = cpu_rows(con)
        assert len(rows) == con.setup.cpus
        assert all(v == ("on", "ok") for v in rows.values()), rows
        caps = "\n".join(con.run("caps"))
        assert f"virtualisation: {VENDOR[setup]}, on" in caps, caps
        assert "Lamina will use: " in caps, caps


@BOOT
def test_caps_choice_follows_the_cpu():
    """Skylake-X has 1G EPT pages, Sandy Bridge does not: the plan differs."""
    plans = {}
    for setup in ("bochs-vmx", "bochs-vmx-sandy"):
        with booted(setup, logname=f"hv-caps-{setup}") as con:
            caps = con.run("caps")
            plans[setup] = [ln for ln in caps if ln.startswith("Lamina will")]
            ept = [ln for ln in caps if ln.startswith("EPT:")]
            assert ept, caps
            want = "yes" if setup == "bochs-vmx" else "no"
            assert f"1G pages {want}" in ept[0], ept
    assert "EPT with 1G/2M/4K pages" in plans["bochs-vmx"][0], plans
    assert "EPT with 2M/4K pages" in plans["bochs-vmx-sandy"][0], plans


@BOOT
@pytest.mark.parametrize("setup", ["qemu-bios", "bochs-vmx"])
@pytest.mark.parametrize("step", STEPS)
def test_fail_step_unwinds(setup, step):
    with booted(setup, f"hv.fail={step}", f"hv-fail-{setup}-{step}") as con:
        con.require(full=True)
        text = con.boot_text
        k = STEPS.index(step) + 1
        assert f"hv: step {k}/{len(STEPS)} '{step}' failed (-125) on purpose " \
            "(hv.fail)" in text, text
        created = re.findall(r"vm: vm \d+ '(\w+)' created", text)
        destroyed = re.findall(r"vm: vm \d+ '(\w+)' destroyed", text)
        if k > STEPS.index("config"):
            assert created and sorted(created) == sorted(destroyed), text
        else:
            assert not created, text
        assert [s for _, s in steps_done(text)] == list(STEPS[:k - 1])
        if k > STEPS.index("hardware_enable") + 1 or step == "hardware_enable":
            off = re.findall(r"hv: cpu (\d+): \S+ \S+ off \(the CPU confirms\)",
                             text)
            expect = con.setup.cpus - (1 if step == "hardware_enable" else 0)
            assert len(off) == expect, f"CPUs turned off: {off}\n{text}"
        assert "allocator counters are back to their values before " \
            "hv_init" in text, text
        assert "virtualisation off: hv_init failed (-125): made to fail " \
            "by hv.fail" in text
        rows = cpu_rows(con)
        assert all(v[0] == "off" for v in rows.values()), rows
        caps = con.run("caps")
        assert caps and caps[0].startswith("virtualisation: off: "), caps
        assert con.run("version")[0].startswith("Lamina ")


@BOOT
@pytest.mark.parametrize("setup,cpu,field", [("qemu-bios", 2, "revision"),
                                             ("bochs-vmx", 1, "basic")])
def test_mismatched_cpu_left_out(setup, cpu, field):
    with booted(setup, f"hv.test_mismatch={cpu}",
                f"hv-mismatch-{setup}") as con:
        con.require(full=True)
        text = con.boot_text
        assert re.search(rf"hv: cpu {cpu}: '{field}' is 0x[0-9a-f]+, boot "
                         rf"CPU's is 0x[0-9a-f]+: left out", text), text
        n = con.setup.cpus
        assert f"{n - 1} of {n} online CPUs passed the compatibility check" \
            in text
        rows = cpu_rows(con)
        for c, (virt, compat) in rows.items():
            if c == cpu:
                assert (virt, compat) == ("off", f"!{field}"), rows
            else:
                assert (virt, compat) == ("on", "ok"), rows


@BOOT
@pytest.mark.parametrize("setup", ["qemu-bios", "bochs-vmx"])
def test_reboot_turns_virtualisation_off(setup):
    with booted(setup, logname=f"hv-reboot-{setup}") as con:
        con.require(full=True)
        con.type("reboot\r")
        out = con.expect(r"reboot: ", 60)
        off = re.findall(r"hv: cpu (\d+): \S+ \S+ off \(the CPU confirms\)",
                         out)
        assert sorted(int(c) for c in off) == list(range(con.setup.cpus)), \
            output_lines(out)
        assert "STILL ON" not in out
