#!/usr/bin/python3
"""Boot time through each UEFI loader: GRUB and lamina.efi (loader/efi/).

Boots the two images of tools/mkusb.sh that tests/integration/test_efi.py
uses (QEMU q35 with OVMF, no CSM, the image as a USB stick; one VM that
starts by itself), alternating, and takes for each boot: host seconds from
QEMU's start to Lamina's prompt, host seconds from OVMF's "BdsDxe: starting
Boot" line (the firmware handing the stick's loader control) to the prompt,
and Lamina's own "boot: ready in N us". The firmware's own start-up is
nearly all of the first figure; the second is the loader's part plus
Lamina's.

    bench/efi_boot.py [--runs N]          (default 3)

Needs `make all build/lamina.efi`. Writes build/bench/efi_boot.{json,txt}.
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402
from benchlib import REPO  # noqa: E402

sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import test_efi  # noqa: E402  (its images and boot helper)

WAYS = {"grub": "grub", "lamina_efi": "lamina"}


def timed_boot(img, logname):
    """(QEMU start -> prompt s, firmware hand-off -> prompt s, ready ms)."""
    m = test_efi.boot(img, logname)
    try:
        m.expect(test_efi.HANDOFF_RE, timeout=m.setup.boot_timeout)
        handoff = time.monotonic()
        m.expect(test_efi.READY_RE, timeout=m.setup.boot_timeout)
        ready_ms = int(m.child.match.group(1)) / 1000
        m.expect(test_efi.PROMPT, timeout=30)
        now = time.monotonic()
        return now - m.started, now - handoff, ready_ms
    finally:
        m.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    imgs = {way: test_efi.image(name, default=name)
            for way, name in WAYS.items()}
    runs = {way: [] for way in WAYS}
    for i in range(args.runs):  # alternating: the host's load moves
        for way, img in imgs.items():
            runs[way].append(timed_boot(img, f"bench-efi-{way}-{i}"))
    figures, lines = [], []
    for way, rs in runs.items():
        for k, (name, unit) in enumerate((("qemu_start_to_prompt_s", "s"),
                                          ("handoff_to_prompt_s", "s"),
                                          ("lamina_ready_ms", "ms"))):
            f = benchlib.figure(f"efi_boot.{way}.{name}",
                                [round(r[k], 3) for r in rs], unit,
                                test_efi.SETUP)
            figures.append(f)
            lines.append(f"{way:11} {name:24} {benchlib.spread(f)} {unit}")
    text = ("UEFI boot through GRUB and through lamina.efi (OVMF, q35, QEMU "
            "TCG)\n" + "\n".join(lines))
    benchlib.save("efi_boot", figures, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
