"""Exit costs against their budgets: the exit-cost guest
(tests/guests/exitcost32.asm, bench/exit_cost.py) on AMD SVM (QEMU with
-icount shift=0, Bochs Ryzen) and Intel VMX (Bochs Skylake-X), where its
RDTSC counts instructions: exact, so a change that makes any exit kind
more than 10% dearer than bench/exit_budgets.json fails here with the old
and new counts. A change that is worth its cost updates the budgets
(`bench/exit_cost.py --update-budgets`) in the same commit."""

import os
import sys

import pytest

from conftest import REPO, setup_or_skip

sys.path.insert(0, os.path.join(REPO, "bench"))
import exit_cost  # noqa: E402


@pytest.fixture(scope="module")
def iso():
    return exit_cost.image()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("setup", exit_cost.SETUPS)
def test_exit_costs_within_budget(setup, iso):
    setup_or_skip(setup, iso)
    got = exit_cost.measure(setup, iso)
    for kind in exit_cost.KINDS:
        # Every kind costs more than the loop without its exit.
        assert got[kind] > 10, (setup, kind, got[kind])
    if not exit_cost.exact(setup):
        pytest.skip(f"SKIP budgets on {setup}: QEMU runs on KVM here, so the "
                    "figures are cycles, not instruction counts")
    budgets = exit_cost.load_budgets()
    assert set(budgets[setup]) == set(exit_cost.KINDS), \
        f"bench/exit_budgets.json lacks kinds for {setup}"
    bad = exit_cost.over_budget(setup, got, budgets)
    assert not bad, "exit cost over budget:\n  " + "\n  ".join(bad) + \
        "\n(bench/exit_cost.py --update-budgets if the cost is worth it)"
