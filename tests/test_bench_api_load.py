"""The API load benchmark's options (the benchmark itself runs with `make bench`)."""

from __future__ import annotations

import pytest

from bench import api_load, cpu


def test_every_phase_runs_unless_one_is_named() -> None:
    assert api_load._arguments([]).only is None
    assert api_load._arguments(["--only", "customers"]).only == "customers"


def test_only_a_known_phase_can_be_named() -> None:
    with pytest.raises(SystemExit):
        api_load._arguments(["--only", "invoices"])


def test_the_servers_cpu_counts_a_backend_started_during_the_phase_whole() -> None:
    """A pool opens its connections as the load starts: their backends are new at the end of
    the first phase and spent all their CPU in it."""
    before = {10: 1.0, 11: 5.0, 12: 2.0}  # 12 ends during the phase
    after = {10: 1.5, 11: 5.0, 13: 0.75}
    assert cpu.spent(before, after) == 1.25
