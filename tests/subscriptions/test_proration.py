"""Proration: exact whole-second fractions, half-up rounding once per line, never float."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hisaab.subscriptions.proration import (
    ProrationLines,
    change_lines,
    prorate,
    remaining_fraction,
)

IST = ZoneInfo("Asia/Kolkata")
BERLIN = ZoneInfo("Europe/Berlin")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY = 86_400


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --- remaining_fraction: table ---------------------------------------------------------------

APR_START, APR_END = utc(2025, 4, 1), utc(2025, 5, 1)  # 30 days
FEB_START, FEB_END = utc(2025, 2, 1), utc(2025, 3, 1)  # 28 days


@pytest.mark.parametrize(
    ("start", "end", "at", "expected"),
    [
        pytest.param(APR_START, APR_END, utc(2025, 4, 16), Fraction(1, 2), id="half-30-day"),
        pytest.param(APR_START, APR_END, APR_START, Fraction(1), id="very-start"),
        pytest.param(APR_START, APR_END, APR_END, Fraction(0), id="very-end"),
        pytest.param(
            APR_START,
            APR_END,
            APR_START + timedelta(seconds=1),
            Fraction(30 * DAY - 1, 30 * DAY),
            id="one-second-in",
        ),
        pytest.param(
            APR_START,
            APR_END,
            APR_END - timedelta(seconds=1),
            Fraction(1, 30 * DAY),
            id="one-second-before-end",
        ),
        pytest.param(FEB_START, FEB_END, utc(2025, 2, 8), Fraction(3, 4), id="feb-28-days"),
        pytest.param(FEB_START, FEB_END, utc(2025, 2, 15, 12), Fraction(27, 56), id="feb-mid-day"),
        pytest.param(
            utc(2024, 2, 1), utc(2024, 3, 1), utc(2024, 2, 15), Fraction(15, 29), id="feb-29-days"
        ),
        pytest.param(
            utc(2023, 6, 1), utc(2024, 6, 1), utc(2024, 2, 29), Fraction(93, 366), id="leap-day"
        ),
        pytest.param(
            utc(2023, 6, 1), utc(2024, 6, 1), utc(2024, 3, 1), Fraction(92, 366), id="after-leap"
        ),
        pytest.param(
            utc(2025, 1, 1), utc(2026, 1, 1), utc(2025, 7, 2, 12), Fraction(1, 2), id="year-365"
        ),
        # October in Berlin is 31 days + 1 hour long (DST ends on the 26th): real seconds count.
        pytest.param(
            datetime(2025, 10, 1, tzinfo=BERLIN),
            datetime(2025, 11, 1, tzinfo=BERLIN),
            datetime(2025, 10, 27, tzinfo=BERLIN),
            Fraction(5 * 24, 31 * 24 + 1),
            id="dst-month",
        ),
        # Mixed zones: an IST month, changed at UTC midnight (= 05:30 IST).
        pytest.param(
            datetime(2025, 4, 1, tzinfo=IST),
            datetime(2025, 5, 1, tzinfo=IST),
            utc(2025, 4, 16),
            Fraction(709, 1440),
            id="mixed-zones",
        ),
    ],
)
def test_remaining_fraction_table(
    start: datetime, end: datetime, at: datetime, expected: Fraction
) -> None:
    fraction = remaining_fraction(start, end, at)
    assert type(fraction) is Fraction
    assert fraction == expected


@pytest.mark.parametrize(
    ("start", "end", "at", "expected"),
    [
        # 0.999999 s into the second after mid-month still counts as that second's start.
        pytest.param(
            APR_START,
            APR_END,
            utc(2025, 4, 16).replace(microsecond=999_999),
            Fraction(1, 2),
            id="at-truncated",
        ),
        pytest.param(
            APR_START.replace(microsecond=500_000),
            APR_END.replace(microsecond=999_999),
            utc(2025, 4, 16),
            Fraction(1, 2),
            id="bounds-truncated",
        ),
        pytest.param(
            APR_START,
            APR_END.replace(microsecond=1),
            APR_END.replace(microsecond=1),
            Fraction(0),
            id="end-with-microseconds",
        ),
        pytest.param(
            APR_START.replace(microsecond=1),
            APR_END,
            APR_START.replace(microsecond=999_999),
            Fraction(1),
            id="start-second-fraction",
        ),
        # Before 1970 flooring must still go toward the past, not toward zero.
        pytest.param(
            utc(1969, 12, 31, 23, 59, 58),
            utc(1970, 1, 1, 0, 0, 2),
            utc(1969, 12, 31, 23, 59, 59).replace(microsecond=500_000),
            Fraction(3, 4),
            id="pre-epoch-floor",
        ),
    ],
)
def test_sub_second_parts_are_floored(
    start: datetime, end: datetime, at: datetime, expected: Fraction
) -> None:
    assert remaining_fraction(start, end, at) == expected


@pytest.mark.parametrize(
    ("start", "end", "at", "message"),
    [
        pytest.param(APR_END, APR_START, APR_END, "before", id="inverted"),
        pytest.param(APR_START, APR_START, APR_START, "before", id="empty"),
        pytest.param(APR_START, APR_END, APR_START - timedelta(seconds=1), "outside", id="early"),
        pytest.param(APR_START, APR_END, APR_END + timedelta(seconds=1), "outside", id="late"),
        pytest.param(
            APR_START,
            APR_END,
            APR_START - timedelta(microseconds=1),
            "outside",
            id="early-by-a-microsecond",
        ),
        pytest.param(
            APR_START,
            APR_START.replace(microsecond=999_999),
            APR_START,
            "whole second",
            id="sub-second-period",
        ),
        pytest.param(
            datetime(2025, 4, 1), APR_END, utc(2025, 4, 16), "period_start", id="naive-start"
        ),
        pytest.param(
            APR_START, datetime(2025, 5, 1), utc(2025, 4, 16), "period_end", id="naive-end"
        ),
        pytest.param(APR_START, APR_END, datetime(2025, 4, 16), "at", id="naive-at"),
    ],
)
def test_remaining_fraction_rejects(
    start: datetime, end: datetime, at: datetime, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        remaining_fraction(start, end, at)


# --- prorate: table ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "fraction", "expected"),
    [
        (1, Fraction(1, 2), 1),  # exactly half: up
        (3, Fraction(1, 2), 2),  # 1.5 → 2
        (5, Fraction(1, 2), 3),  # 2.5 → 3 (half up, not banker's)
        (1, Fraction(1, 3), 0),  # 0.33 → 0
        (2, Fraction(1, 3), 1),  # 0.67 → 1
        (1, Fraction(499_999, 1_000_000), 0),  # just under half
        (1, Fraction(500_001, 1_000_000), 1),  # just over half
        (0, Fraction(1, 2), 0),
        (12345, Fraction(0), 0),
        (12345, Fraction(1), 12345),
        (1_296_000, Fraction(1, 30 * DAY), 1),  # 0.5 minor unit in the last second: up
        (1_295_999, Fraction(1, 30 * DAY), 0),
        (-1, Fraction(1, 2), -1),  # negative: half away from zero
        (-3, Fraction(1, 2), -2),
        (-5, Fraction(1, 2), -3),
        (-1, Fraction(1, 3), 0),
        (-2, Fraction(1, 3), -1),
        # Past 28 significant digits, where a default Decimal context would round twice.
        (10**30 + 1, Fraction(1, 2), 5 * 10**29 + 1),
        (10**30 - 1, Fraction(1, 2), 5 * 10**29),
        (-(10**30) - 1, Fraction(1, 2), -(5 * 10**29) - 1),
    ],
)
def test_prorate_table(amount: int, fraction: Fraction, expected: int) -> None:
    result = prorate(amount, fraction)
    assert type(result) is int
    assert result == expected


def test_prorate_accepts_an_exact_int_fraction() -> None:
    assert prorate(700, 1) == 700  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "fraction"),
    [
        pytest.param(100, 0.5, id="float-fraction"),
        pytest.param(100, Decimal("0.5"), id="decimal-fraction"),
        pytest.param(100.0, Fraction(1, 2), id="float-amount"),
        pytest.param(Decimal(100), Fraction(1, 2), id="decimal-amount"),
        pytest.param(True, Fraction(1, 2), id="bool-amount"),
    ],
)
def test_prorate_refuses_inexact_or_non_integer_inputs(amount: object, fraction: object) -> None:
    with pytest.raises(TypeError):
        prorate(amount, fraction)  # type: ignore[arg-type]


# --- change_lines: table ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "start", "end", "at", "credit", "charge"),
    [
        # ₹2000 → ₹5000 half-way through a 30-day month (paise).
        pytest.param(
            200_000, 500_000, APR_START, APR_END, utc(2025, 4, 16), -100_000, 250_000, id="half"
        ),
        pytest.param(
            200_000, 500_000, APR_START, APR_END, APR_START, -200_000, 500_000, id="start"
        ),
        pytest.param(200_000, 500_000, APR_START, APR_END, APR_END, 0, 0, id="end"),
        pytest.param(
            200_000,
            500_000,
            APR_START,
            APR_END,
            APR_START + timedelta(seconds=1),
            -200_000,  # 199999.92…
            500_000,  # 499999.80…
            id="one-second-in",
        ),
        pytest.param(
            200_000,
            500_000,
            APR_START,
            APR_END,
            APR_END - timedelta(seconds=1),
            0,  # 0.077…
            0,  # 0.19…
            id="one-second-before-end",
        ),
        pytest.param(
            200_000,
            500_000,
            FEB_START,
            FEB_END,
            utc(2025, 2, 15, 12),
            -96_429,  # 96428.57…
            241_071,  # 241071.43…
            id="feb",
        ),
        pytest.param(
            500_000,
            200_000,
            APR_START,
            APR_END,
            utc(2025, 4, 16),
            -250_000,
            100_000,
            id="downgrade",
        ),
        # JPY has no minor unit: ¥1000 → ¥3000 with 21 of 31 days left.
        pytest.param(
            1000, 3000, utc(2025, 1, 1), utc(2025, 2, 1), utc(2025, 1, 11), -677, 2032, id="jpy"
        ),
        pytest.param(1, 3, APR_START, APR_END, utc(2025, 4, 16), -1, 2, id="jpy-tiny-half"),
        pytest.param(1, 2, APR_START, APR_END, utc(2025, 4, 21), 0, 1, id="jpy-tiny-third"),
        pytest.param(0, 999, APR_START, APR_END, utc(2025, 4, 16), 0, 500, id="from-free"),
        # Yearly ₹12000 → ₹24000 period containing 29 Feb 2024 (366 days).
        pytest.param(
            1_200_000,
            2_400_000,
            utc(2023, 6, 1),
            utc(2024, 6, 1),
            utc(2024, 2, 29),
            -304_918,  # 304918.03…
            609_836,  # 609836.07…
            id="yearly-leap-day",
        ),
        pytest.param(
            1_200_000,
            2_400_000,
            utc(2023, 6, 1),
            utc(2024, 6, 1),
            utc(2024, 3, 1),
            -301_639,  # 301639.34…
            603_279,  # 603278.69…
            id="yearly-after-leap-day",
        ),
    ],
)
def test_change_lines_table(
    old: int, new: int, start: datetime, end: datetime, at: datetime, credit: int, charge: int
) -> None:
    lines = change_lines(old, new, start, end, at)
    assert lines.credit == credit
    assert lines.charge == charge
    assert lines.net == credit + charge
    assert lines.fraction == remaining_fraction(start, end, at)


def test_lines_are_rounded_each_on_its_own() -> None:
    # 1/3 left: credit -round(1/3) = 0, charge round(2/3) = 1; netting first would give 0.
    lines = change_lines(1, 2, APR_START, APR_END, utc(2025, 4, 21))
    assert lines == ProrationLines(credit=0, charge=1, fraction=Fraction(1, 3))
    assert lines.net == 1


def test_lines_are_immutable() -> None:
    lines = change_lines(1, 2, APR_START, APR_END, APR_START)
    with pytest.raises(AttributeError):
        lines.credit = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        pytest.param(-1, 100, ValueError, id="negative-old"),
        pytest.param(100, -1, ValueError, id="negative-new"),
        pytest.param(100.0, 100, TypeError, id="float-old"),
        pytest.param(100, Decimal(100), TypeError, id="decimal-new"),
    ],
)
def test_change_lines_rejects_bad_amounts(old: object, new: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        change_lines(old, new, APR_START, APR_END, utc(2025, 4, 16))  # type: ignore[arg-type]


def test_change_lines_rejects_instant_outside_period() -> None:
    with pytest.raises(ValueError, match="outside"):
        change_lines(100, 200, APR_START, APR_END, utc(2025, 5, 2))


# --- properties -------------------------------------------------------------------------------

AMOUNTS = st.integers(min_value=0, max_value=10**15)
SIGNED_AMOUNTS = st.integers(min_value=-(10**15), max_value=10**15)
UNIT_FRACTIONS = st.fractions(min_value=0, max_value=1, max_denominator=400 * DAY)
ZONES = st.sampled_from(
    [UTC, IST, BERLIN, ZoneInfo("America/New_York"), timezone(timedelta(hours=-3, minutes=-30))]
)
# Instants as integer microseconds since the epoch, 1900 … 2200.
MICROS = st.integers(min_value=-70 * 365 * DAY * 10**6, max_value=230 * 365 * DAY * 10**6)
MAX_PERIOD_SECONDS = 400 * DAY


def at_micros(micros: int, zone: timezone | ZoneInfo) -> datetime:
    return (EPOCH + timedelta(microseconds=micros)).astimezone(zone)


@st.composite
def periods(draw: st.DrawFn) -> tuple[int, int]:
    """(start, end) in whole seconds since the epoch; at least one second long."""
    start = draw(st.integers(min_value=-70 * 365 * DAY, max_value=230 * 365 * DAY))
    return start, start + draw(st.integers(min_value=1, max_value=MAX_PERIOD_SECONDS))


def at_seconds(seconds: int) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


@given(amount=AMOUNTS, f=UNIT_FRACTIONS, g=UNIT_FRACTIONS)
def test_prorate_is_bounded_and_monotone(amount: int, f: Fraction, g: Fraction) -> None:
    low, high = sorted((f, g))
    assert 0 <= prorate(amount, low) <= prorate(amount, high) <= amount


@given(amount=SIGNED_AMOUNTS, f=st.fractions(max_denominator=10**9))
def test_prorate_is_within_half_a_unit_and_half_up(amount: int, f: Fraction) -> None:
    result = prorate(amount, f)
    exact = amount * f
    assert abs(result - exact) <= Fraction(1, 2)
    if abs(result - exact) == Fraction(1, 2):  # a tie goes away from zero
        assert abs(result) > abs(exact)
    assert prorate(-amount, f) == -result


@given(
    period=periods(),
    offset=st.integers(min_value=0, max_value=MAX_PERIOD_SECONDS),
    a=AMOUNTS,
    b=AMOUNTS,
)
def test_change_and_change_back_at_the_same_second_nets_to_zero(
    period: tuple[int, int], offset: int, a: int, b: int
) -> None:
    start, end = period
    at = at_seconds(min(start + offset, end))
    there = change_lines(a, b, at_seconds(start), at_seconds(end), at)
    back = change_lines(b, a, at_seconds(start), at_seconds(end), at)
    assert there.net + back.net == 0
    assert there.credit == -back.charge
    assert there.charge == -back.credit


@given(
    period=periods(),
    offsets=st.lists(
        st.integers(min_value=0, max_value=MAX_PERIOD_SECONDS), min_size=2, max_size=2
    ),
    a=AMOUNTS,
    b=AMOUNTS,
    c=AMOUNTS,
)
def test_two_changes_stay_within_one_unit_per_line_of_exact(
    period: tuple[int, int], offsets: list[int], a: int, b: int, c: int
) -> None:
    start, end = period
    t, u = sorted(min(start + offset, end) for offset in offsets)
    first = change_lines(a, b, at_seconds(start), at_seconds(end), at_seconds(t))
    second = change_lines(b, c, at_seconds(start), at_seconds(end), at_seconds(u))
    ft, fu = Fraction(end - t, end - start), Fraction(end - u, end - start)
    lines = [first.credit, first.charge, second.credit, second.charge]
    exact = [-a * ft, b * ft, -b * fu, c * fu]
    for line, ideal in zip(lines, exact, strict=True):
        assert abs(line - ideal) <= Fraction(1, 2)
    # Whole period billed: a in full, then both changes; the rounding drift stays per line.
    billed = a + sum(lines)
    ideal_billed = a * (1 - ft) + b * (ft - fu) + c * fu
    assert abs(billed - ideal_billed) <= Fraction(len(lines), 2)


@given(
    start=MICROS,
    length=st.integers(min_value=10**6, max_value=MAX_PERIOD_SECONDS * 10**6),
    position=st.integers(min_value=0, max_value=MAX_PERIOD_SECONDS * 10**6),
    zones=st.tuples(ZONES, ZONES, ZONES),
)
@settings(max_examples=200)
def test_fraction_is_whole_seconds_left_over_whole_seconds_long(
    start: int,
    length: int,
    position: int,
    zones: tuple[timezone | ZoneInfo, timezone | ZoneInfo, timezone | ZoneInfo],
) -> None:
    end = start + length
    at = start + min(position, length)
    fraction = remaining_fraction(
        at_micros(start, zones[0]), at_micros(end, zones[1]), at_micros(at, zones[2])
    )
    second = 10**6
    assert fraction == Fraction(end // second - at // second, end // second - start // second)
    assert 0 <= fraction <= 1


@given(period=periods(), offsets=st.tuples(st.integers(0, MAX_PERIOD_SECONDS), st.integers(0, 10)))
def test_fraction_never_grows_as_time_passes(
    period: tuple[int, int], offsets: tuple[int, int]
) -> None:
    start, end = period
    earlier = min(start + offsets[0], end)
    later = min(earlier + offsets[1], end)
    begin, finish = at_seconds(start), at_seconds(end)
    assert remaining_fraction(begin, finish, at_seconds(earlier)) >= remaining_fraction(
        begin, finish, at_seconds(later)
    )
