"""CPU seconds by process, read before and after a benchmark's run or phase: what it cost,
whatever else the machine was doing (wall-clock figures mean something only on a quiet
machine; these mean something on any)."""

from __future__ import annotations

from collections.abc import Iterable

import psutil


def used(processes: Iterable[psutil.Process | int]) -> dict[int, float]:
    """CPU seconds so far of each process (or pid) still running, by pid."""
    seconds = {}
    for process in processes:
        try:
            found = process if isinstance(process, psutil.Process) else psutil.Process(process)
            times = found.cpu_times()
        except psutil.NoSuchProcess:
            continue
        seconds[found.pid] = times.user + times.system
    return seconds


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    """What the processes spent between two readings: one that started in between (a backend
    a pool opened meanwhile) counts whole, one that ended in between is missed."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
