"""bench/workloads.py --short, as a test: every figure it writes is
produced, and the workload guest (tests/guests/work32.asm) computes the
same under Lamina as straight in QEMU. No timing is asserted (the host is
shared); exit counts are, where the guest fixes them.

- qemu-bios (SVM+NPT): work32 with bench/configs/work-short.yaml under
  Lamina, then the same kernel and command line straight in QEMU; the
  checksums they print must be equal.
- bochs-vmx (VMX+EPT): the same under Lamina on Bochs (about 10 s there),
  its checksums against a direct QEMU run's.
- qemu-linux: the idle Linux guest (`make linux-guest`; skipped without
  it), one 5 s window of `stats tux`.
"""

import os
import sys

import pytest

from conftest import REPO

sys.path.insert(0, os.path.join(REPO, "bench"))
import workloads  # noqa: E402

KINDS = workloads.KINDS + ("total",)
SCHEDSTAT = os.path.exists("/proc/self/schedstat")


def result(**parts):
    """A workloads.measure()-shaped result holding only `parts`."""
    res = {"lamina": [], "direct": [], "config": workloads.CONFIG_SHORT}
    res.update(parts)
    return res


def names(figs, setup):
    return {f["name"] for f in figs if f.get("setup") == setup}


def check_run(r):
    """A finished work32 run: its lines parsed, its VM ended well."""
    assert "error" not in r, f"{r['error']} (log: {r.get('log')})"
    assert set(r["tsc"]) == set(workloads.WORKLOADS)
    assert r["tsc"]["compute"] > 0 and r["tsc"]["memwalk"] > 0
    assert set(r["sums"]) == {"compute", "memwalk"}
    assert r["args"] == {"compute": "10", "walk": "1", "mem": "8",
                         "paging": "1"}


def check_exits(r):
    """Every OUT is a console byte but the last, the debug-exit write;
    the guest makes no other exit."""
    st = r["stats"]
    assert r["exits"]["io"] == st["console_bytes"] + 1, st
    assert st["console_dropped"] == 0
    assert all(r["exits"][k] == 0 for k in workloads.KINDS if k != "io"), st


@pytest.mark.timeout(240)
def test_work32_svm_against_direct():
    lam = workloads.lamina_work(workloads.SETUP, workloads.CONFIG_SHORT, 0)
    direct = workloads.direct_work(workloads.CONFIG_SHORT, 0)
    check_run(lam)
    check_run(direct)
    assert lam["sums"] == direct["sums"], "Lamina and QEMU computed apart"
    check_exits(lam)
    figs = workloads.figures(result(lamina=[lam], direct=[direct]))
    want = {f"exits.work32.{k}" for k in KINDS}
    for w in workloads.WORKLOADS:
        want |= {f"overhead.{w}", f"workload.{w}.lamina_s",
                 f"workload.{w}.direct_s"}
        if SCHEDSTAT:
            want |= {f"workload.{w}.lamina_cpu_s",
                     f"workload.{w}.direct_cpu_s"}
            # schedstat moves in scheduler ticks: the short fill (about
            # 4 ms straight in QEMU) can read 0 s, and 0 gives no ratio.
            if lam["cpu_s"].get(w) and direct["cpu_s"].get(w):
                want.add(f"overhead.{w}.cpu")
            else:
                print(f"{w}: no CPU-time ratio, one side read 0 s "
                      f"(Lamina {lam['cpu_s'].get(w)}, direct "
                      f"{direct['cpu_s'].get(w)}): under a tick")
    assert want <= names(figs, workloads.SETUP), \
        sorted(want - names(figs, workloads.SETUP))


@pytest.mark.timeout(480)
def test_work32_vmx_exits():
    r = workloads.vmx_exits(workloads.CONFIG_SHORT, say=lambda s: None)
    if "skipped" in r:
        pytest.skip(f"SKIP {workloads.VMX_SETUP}: {r['skipped']}")
    check_run(r)
    check_exits(r)
    direct = workloads.direct_work(workloads.CONFIG_SHORT, 0)
    check_run(direct)
    assert r["sums"] == direct["sums"], "Lamina on VMX and QEMU computed apart"
    figs = workloads.figures(result(vmx=r,
                                    vmx_config=workloads.CONFIG_SHORT))
    want = {f"exits.work32.{k}" for k in KINDS}
    assert want <= names(figs, workloads.VMX_SETUP)


@pytest.mark.timeout(900)
def test_idle_linux_exits():
    r = workloads.idle_linux(workloads.IDLE_WINDOW_SHORT, windows=1,
                             say=lambda s: None)
    if "skipped" in r:
        pytest.skip(f"SKIP: {r['skipped']}")
    assert "error" not in r, f"{r['error']} (log: {r['log']})"
    (w,) = r["windows"]
    assert w["seconds"] >= workloads.IDLE_WINDOW_SHORT
    assert w["timers"], "no local APIC in `stats tux`"
    figs = workloads.figures(result(idle_linux=r))
    want = {f"exits.idle_linux.{k}" for k in KINDS} | \
        {"idle_linux.timer_irqs"}
    assert want <= names(figs, workloads.LINUX_SETUP)
