"""How fast this machine runs Python right now, printed beside every benchmark's figures.

A shared or virtual machine's speed varies by several times from hour to hour (seen here: the
same loop took 0.4 s and 1.8 s of CPU on the same day), so a figure means little without it:
compare runs whose reference times are close, or divide by it.
"""

from __future__ import annotations

import time


def reference_loop_seconds() -> float:
    """CPU seconds of a fixed pure-Python loop of 10M additions."""
    started = time.process_time()
    total = 0
    for step in range(10_000_000):
        total += step
    return time.process_time() - started


def describe() -> str:
    return f"machine: a 10M-step Python loop takes {reference_loop_seconds():.2f} s of CPU here"
