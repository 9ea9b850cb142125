"""The pure checks of ingestion: numbers, distinct values, timestamps and windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hisaab.usage import intake
from hisaab.usage.intake import CustomerClock, Windows


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (3, Decimal(3)),
        (-3, Decimal(-3)),
        (0.1, Decimal("0.1")),
        (1e3, Decimal("1000.0")),
        ("12.50", Decimal("12.50")),
        ("1e3", Decimal("1E+3")),
        ("0.000000000000000001", Decimal("1E-18")),
        ("0.0000000000000000001", None),
        (10**24, None),
        (10**24 - 1, Decimal(10**24 - 1)),
        ("NaN", None),
        ("Infinity", None),
        (float("inf"), None),
        (True, None),
        (None, None),
        ("", None),
        ("12 apples", None),
        ([1], None),
        ({"a": 1}, None),
    ],
)
def test_numeric_value(raw: Any, expected: Decimal | None) -> None:
    assert intake.numeric_value(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a", "a"),
        (42, "42"),
        (42.0, "42"),
        (4.5, "4.5"),
        (True, "true"),
        ("x" * 256, "x" * 256),
        ("x" * 257, None),
        ("", None),
        (None, None),
        ([1], None),
        ({"a": 1}, None),
        (float("nan"), None),
    ],
)
def test_unique_value(raw: Any, expected: str | None) -> None:
    assert intake.unique_value(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-01-31T10:00:00Z", datetime(2026, 1, 31, 10, tzinfo=UTC)),
        ("2026-01-31T15:30:00+05:30", datetime(2026, 1, 31, 10, tzinfo=UTC)),
        ("2026-01-31T10:00:00.123456Z", datetime(2026, 1, 31, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2026-01-31T10:00:00", None),
        ("2026-01-31", None),
        ("0001-01-01T00:00:00+05:00", None),
        (1769853600, None),
        ("soon", None),
    ],
)
def test_parse_timestamp(raw: Any, expected: datetime | None) -> None:
    assert intake.parse_timestamp(raw) == expected


def test_the_earliest_accepted_time() -> None:
    now = datetime(2026, 3, 10, tzinfo=UTC)
    windows = Windows()
    period = CustomerClock("cus_x", None, now, datetime(2026, 3, 1, tzinfo=UTC))
    assert intake.earliest_accepted(period, windows) == datetime(2026, 2, 28, tzinfo=UTC)
    no_period = CustomerClock("cus_x", None, now, None)
    assert intake.earliest_accepted(no_period, windows) == now - timedelta(days=35)


@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=6, min_value=-(10**20), max_value=10**20
    )
)
def test_decimal_strings_round_trip(value: Decimal) -> None:
    assert intake.numeric_value(str(value)) == value


def test_nul_is_found_anywhere() -> None:
    assert intake.has_nul({"a": [1, {"b": "x\x00"}]})
    assert intake.has_nul({"a\x00": 1})
    assert not intake.has_nul({"a": [1, {"b": "x"}], "c": None})
