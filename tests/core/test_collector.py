"""The collector settings of long-running processes (core/collector.py), in a fresh interpreter:
they are process-wide, and the test process keeps its own."""

from __future__ import annotations

import subprocess
import sys

from hisaab.core import collector


def test_tune_freezes_start_up_objects_and_collects_young_ones_less_often() -> None:
    script = (
        "import gc\n"
        "from hisaab.core import collector\n"
        "before = gc.get_freeze_count()\n"
        "collector.tune()\n"
        "print(before, gc.get_freeze_count(), *gc.get_threshold())\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    before, frozen, *thresholds = map(int, output)
    assert before == 0
    assert frozen > 1_000, "modules and their objects are frozen"
    assert thresholds == [
        collector.YOUNG_THRESHOLD,
        collector.MIDDLE_THRESHOLD,
        collector.OLD_THRESHOLD,
    ]
