"""The API load benchmark's options (the benchmark itself runs with `make bench`)."""

from __future__ import annotations

import pytest

from bench import api_load


def test_every_phase_runs_unless_one_is_named() -> None:
    assert api_load._arguments([]).only is None
    assert api_load._arguments(["--only", "customers"]).only == "customers"


def test_only_a_known_phase_can_be_named() -> None:
    with pytest.raises(SystemExit):
        api_load._arguments(["--only", "invoices"])
