"""The KVM peer (bench/kvm_peer.py): Linux KVM runs the exit-cost guest.

Debian's kernel boots in the emulator with the initramfs of `make
kvm-peer`, loads KVM and runs tests/guests/exitcost32.bin with
tools/kvm-peer/kvmexit.c. These tests check the pipeline gives a figure
for every kind of exit, not what the figures are: they are KVM's, and
bench/kvm_peer.py records them.

SVM (QEMU TCG with icount, about 15 s) runs in every `make test`; VMX
(Bochs, Linux boots for minutes) only in `make test-slow`.

Each run writes build/test-bench/kvm_peer.{json,txt}, not build/bench
where `make bench` keeps its figures; serial logs stay in
build/test-bench/kvm-peer-<setup>/.
"""

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BENCH = os.path.join(REPO, "bench", "kvm_peer.py")
# Not build/bench: that holds the last `make bench`'s figures.
OUT = os.path.join(REPO, "build", "test-bench")
RESULT = os.path.join(OUT, "kvm_peer.json")
KINDS = ("cpuid", "io", "msr", "hypercall", "npf")


def run_peer(args, timeout):
    """Run bench/kvm_peer.py; skip on its SKIP line; return its figures."""
    try:
        out = subprocess.run([sys.executable, BENCH, *args], cwd=REPO,
                             capture_output=True, text=True,
                             timeout=timeout,
                             env={**os.environ, "LAMINA_BENCH_OUT": OUT})
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"bench/kvm_peer.py {' '.join(args)} ran past "
                    f"{timeout} s:\n{e.stdout or ''}{e.stderr or ''}",
                    pytrace=False)
    text = out.stdout + out.stderr
    if out.returncode != 0:
        pytest.fail(f"bench/kvm_peer.py {' '.join(args)} failed "
                    f"(status {out.returncode}):\n{text}", pytrace=False)
    skip = [ln for ln in out.stdout.splitlines() if ln.startswith("SKIP")]
    if skip:
        pytest.skip("; ".join(skip))
    with open(RESULT) as f:
        return json.load(f)["figures"]


def check_figures(figures, setup):
    for kind in KINDS:
        got = [f for f in figures
               if f["name"] == f"kvm.exit.{kind}" and f["setup"] == setup]
        assert got, f"no kvm.exit.{kind} figure for {setup}"
        assert got[0]["unit"] == "instructions"
        assert got[0]["median"] > 0, \
            f"{setup} {kind}: {got[0]['median']} instructions per exit"


@pytest.mark.timeout(420)
def test_kvm_peer_svm_qemu():
    figures = run_peer(["--short"], timeout=400)
    check_figures(figures, "kvm-qemu-svm")


@pytest.mark.slow
@pytest.mark.timeout(2000)
def test_kvm_peer_vmx_bochs():
    figures = run_peer(["--only", "vmx"], timeout=1950)
    check_figures(figures, "kvm-bochs-vmx")
