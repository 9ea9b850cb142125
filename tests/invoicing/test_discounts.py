"""Coupon discounts per line: exact largest-remainder splits, per-line half-up percent, expiry."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hisaab.invoicing.discounts import Discount, DiscountableLine, allocate, line_discounts

IST = ZoneInfo("Asia/Kolkata")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
ENDS = datetime(2026, 6, 1, tzinfo=UTC)
BEFORE = ENDS - timedelta(days=31)
AFTER = ENDS + timedelta(days=31)
US = timedelta(microseconds=1)


def lines(*amounts: int, start: datetime = T0) -> list[DiscountableLine]:
    return [DiscountableLine(amount=a, period_start=start) for a in amounts]


def percent(p: str, ends_at: datetime | None = None) -> Discount:
    return Discount(percent_off=Decimal(p), amount_off=None, ends_at=ends_at)


def amount(a: int, ends_at: datetime | None = None) -> Discount:
    return Discount(percent_off=None, amount_off=a, ends_at=ends_at)


def half_up(value: Decimal) -> int:
    """Oracle: round half away from zero, the symmetric "half up" of DESIGN rule 1."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --- allocate: table -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        pytest.param(100, [1, 1, 1], [34, 33, 33], id="thirds-extra-to-first"),
        pytest.param(1, [1, 1], [1, 0], id="tie-to-earlier"),
        pytest.param(2, [1, 1, 1], [1, 1, 0], id="two-ties-to-earliest-two"),
        pytest.param(10, [1] * 12, [1] * 10 + [0, 0], id="more-lines-than-units"),
        pytest.param(100, [1, 2], [33, 67], id="largest-remainder-wins-over-earlier"),
        pytest.param(100, [2, 1], [67, 33], id="largest-remainder-first"),
        pytest.param(10, [0, 3, 0, 7], [0, 3, 0, 7], id="exact-with-zero-weights"),
        pytest.param(5, [0, 1, 0, 1], [0, 3, 0, 2], id="zero-weights-skip-tie"),
        pytest.param(1, [0, 0, 5], [0, 0, 1], id="earlier-zero-weights-get-nothing"),
        pytest.param(7, [3], [7], id="single-line-takes-all"),
        pytest.param(10, [1, 2], [3, 7], id="total-above-weights"),
        pytest.param(300, [1000, 2000], [100, 200], id="proportional-exact"),
        pytest.param(0, [5, 5], [0, 0], id="zero-total"),
        pytest.param(10, [0, 0], [0, 0], id="all-zero-weights"),
        pytest.param(10, [], [], id="no-lines"),
        pytest.param(
            10**15 + 1, [1, 1], [5 * 10**14 + 1, 5 * 10**14], id="large-total-stays-exact"
        ),
        pytest.param(1, [10**18, 10**18 + 1], [0, 1], id="huge-weights-exact-remainders"),
    ],
)
def test_allocate(total: int, weights: list[int], expected: list[int]) -> None:
    assert allocate(total, weights) == expected


# --- allocate: properties --------------------------------------------------------------------

WEIGHTS = st.lists(st.integers(0, 10**9), max_size=30)
TOTALS = st.integers(0, 10**12)


@given(total=TOTALS, weights=WEIGHTS)
def test_allocate_sums_exactly(total: int, weights: list[int]) -> None:
    shares = allocate(total, weights)
    assert len(shares) == len(weights)
    assert sum(shares) == (total if sum(weights) > 0 else 0)


@given(total=TOTALS, weights=WEIGHTS)
def test_allocate_each_share_is_the_floor_or_ceiling_of_its_exact_share(
    total: int, weights: list[int]
) -> None:
    whole = sum(weights)
    for share, weight in zip(allocate(total, weights), weights, strict=True):
        if whole == 0:
            assert share == 0
            continue
        exact = Fraction(total * weight, whole)
        assert abs(share - exact) < 1
        assert math.floor(exact) <= share <= math.ceil(exact)


@given(total=TOTALS, weights=WEIGHTS)
def test_allocate_zero_weights_get_zero(total: int, weights: list[int]) -> None:
    for share, weight in zip(allocate(total, weights), weights, strict=True):
        assert share >= 0
        if weight == 0:
            assert share == 0


@given(total=TOTALS, weights=WEIGHTS)
def test_allocate_extra_units_go_to_largest_remainders_then_earlier_lines(
    total: int, weights: list[int]
) -> None:
    whole = sum(weights)
    shares = allocate(total, weights)
    if whole == 0:
        return
    bumped = [shares[i] > total * w // whole for i, w in enumerate(weights)]
    remainder = [total * w % whole for w in weights]
    for i in range(len(weights)):
        for j in range(len(weights)):
            if bumped[i] and not bumped[j]:
                # i was preferred over j: a larger remainder, or an equal one earlier.
                assert (remainder[i], -i) > (remainder[j], -j)


@given(total=TOTALS, weights=WEIGHTS)
def test_allocate_equal_weights_favour_earlier_lines(total: int, weights: list[int]) -> None:
    shares = allocate(total, weights)
    for i in range(len(weights)):
        for j in range(i + 1, len(weights)):
            if weights[i] == weights[j]:
                assert shares[j] <= shares[i] <= shares[j] + 1


@given(total=TOTALS, weights=WEIGHTS)
def test_allocate_is_deterministic(total: int, weights: list[int]) -> None:
    assert allocate(total, weights) == allocate(total, list(weights))
    assert allocate(total, weights) == allocate(total, tuple(weights))


@given(total=TOTALS, weights=WEIGHTS, k=st.integers(1, 1000))
def test_allocate_depends_only_on_proportions(total: int, weights: list[int], k: int) -> None:
    assert allocate(total, [k * w for w in weights]) == allocate(total, weights)


@given(weights=WEIGHTS)
def test_allocating_the_weights_total_returns_the_weights(weights: list[int]) -> None:
    assert allocate(sum(weights), weights) == weights


# --- line_discounts: no discount -------------------------------------------------------------


@pytest.mark.parametrize(
    "applies", [pytest.param(True, id="applies"), pytest.param(False, id="not")]
)
@pytest.mark.parametrize(
    "amounts",
    [pytest.param([], id="empty"), pytest.param([1000, -500, 0], id="mixed")],
)
def test_no_discount_is_all_zeros(amounts: list[int], applies: bool) -> None:
    assert line_discounts(None, lines(*amounts), amount_off_applies=applies) == [0] * len(amounts)


def test_discount_with_neither_percent_nor_amount_is_all_zeros() -> None:
    empty = Discount(percent_off=None, amount_off=None, ends_at=None)
    assert line_discounts(empty, lines(1000, 2000), amount_off_applies=True) == [0, 0]


# --- line_discounts: percent off -------------------------------------------------------------


@pytest.mark.parametrize(
    ("pct", "amounts", "expected"),
    [
        pytest.param("10", [1000, 1005, 1004, 5, 4], [100, 101, 100, 1, 0], id="10pct-half-up"),
        pytest.param(
            "10", [-1000, -1005, -1004, -5, -4], [-100, -101, -100, -1, 0], id="10pct-credits"
        ),
        pytest.param("10", [5, 5], [1, 1], id="per-line-rounding-not-on-sum"),
        pytest.param("12.5", [100, -100, 4, -4, 12], [13, -13, 1, -1, 2], id="12.5pct"),
        pytest.param("33.33", [1000, 3], [333, 1], id="33.33pct"),
        pytest.param("0.01", [50, 50_000, 150], [0, 5, 0], id="tiny-percent"),
        pytest.param("100", [1234, -567, 1, 0], [1234, -567, 1, 0], id="100pct-full-amount"),
        pytest.param("100.00", [999], [999], id="100pct-with-places"),
        pytest.param("0", [1234, -567], [0, 0], id="0pct"),
        pytest.param("50", [1, -1, 3, -3], [1, -1, 2, -2], id="halves-away-from-zero"),
        pytest.param("15", [0], [0], id="zero-amount"),
        pytest.param("18", [10**15 + 1], [180_000_000_000_000], id="large-amount-exact"),
    ],
)
@pytest.mark.parametrize(
    "applies", [pytest.param(True, id="applies"), pytest.param(False, id="not")]
)
def test_percent_off(pct: str, amounts: list[int], expected: list[int], applies: bool) -> None:
    # amount_off_applies only gates amount-off coupons; a percentage applies to every invoice.
    assert line_discounts(percent(pct), lines(*amounts), amount_off_applies=applies) == expected


@pytest.mark.parametrize(
    ("period_start", "ends_at", "discounted"),
    [
        pytest.param(BEFORE, ENDS, True, id="before-end"),
        pytest.param(ENDS - US, ENDS, True, id="one-microsecond-before-end"),
        pytest.param(ENDS, ENDS, False, id="exactly-at-end"),
        pytest.param(ENDS + US, ENDS, False, id="just-after-end"),
        pytest.param(AFTER, ENDS, False, id="after-end"),
        pytest.param(ENDS.astimezone(IST), ENDS, False, id="same-instant-other-zone"),
        pytest.param(ENDS.astimezone(IST) - US, ENDS, True, id="just-before-other-zone"),
        pytest.param(datetime(9999, 1, 1, tzinfo=UTC), None, True, id="forever"),
        pytest.param(datetime(1970, 1, 1, tzinfo=UTC), None, True, id="forever-past"),
    ],
)
def test_discount_covers_periods_starting_before_its_end(
    period_start: datetime, ends_at: datetime | None, discounted: bool
) -> None:
    line = lines(1000, -1000, start=period_start)
    assert percent("20", ends_at).covers(period_start) is discounted
    expected = [200, -200] if discounted else [0, 0]
    assert line_discounts(percent("20", ends_at), line, amount_off_applies=True) == expected


def test_percent_off_mixes_covered_and_expired_lines() -> None:
    mixed = [
        DiscountableLine(1000, BEFORE),
        DiscountableLine(-300, BEFORE),
        DiscountableLine(1000, ENDS),
        DiscountableLine(-300, AFTER),
    ]
    assert line_discounts(percent("25", ENDS), mixed, amount_off_applies=True) == [250, -75, 0, 0]


PERCENTS = st.decimals(min_value=0, max_value=100, places=2)
SIGNED = st.integers(-(10**12), 10**12)


@given(pct=PERCENTS, a=SIGNED)
def test_percent_off_is_half_up_of_the_exact_share(pct: Decimal, a: int) -> None:
    (d,) = line_discounts(percent(str(pct)), lines(a), amount_off_applies=False)
    assert d == half_up(Decimal(a) * pct / 100)


@given(pct=PERCENTS, a=SIGNED)
def test_percent_off_credit_mirrors_charge(pct: Decimal, a: int) -> None:
    d, mirrored = line_discounts(percent(str(pct)), lines(a, -a), amount_off_applies=True)
    assert mirrored == -d


@given(pct=PERCENTS, a=SIGNED)
def test_percent_off_never_exceeds_the_line_and_keeps_its_sign(pct: Decimal, a: int) -> None:
    (d,) = line_discounts(percent(str(pct)), lines(a), amount_off_applies=True)
    assert abs(d) <= abs(a)
    assert d * a >= 0


@given(a=SIGNED)
def test_hundred_percent_off_is_the_whole_line(a: int) -> None:
    assert line_discounts(percent("100"), lines(a), amount_off_applies=True) == [a]


@given(
    pct=PERCENTS,
    items=st.lists(st.tuples(SIGNED, st.booleans()), max_size=20),
)
def test_percent_off_lines_are_independent(pct: Decimal, items: list[tuple[int, bool]]) -> None:
    batch = [DiscountableLine(a, BEFORE if covered else AFTER) for a, covered in items]
    together = line_discounts(percent(str(pct), ENDS), batch, amount_off_applies=True)
    alone = [
        line_discounts(percent(str(pct), ENDS), [x], amount_off_applies=True)[0] for x in batch
    ]
    assert together == alone
    for (_, covered), d in zip(items, together, strict=True):
        if not covered:
            assert d == 0


# --- line_discounts: amount off --------------------------------------------------------------


@pytest.mark.parametrize(
    ("off", "amounts", "expected"),
    [
        pytest.param(300, [1000, 2000], [100, 200], id="proportional"),
        pytest.param(100, [1000, 2000], [33, 67], id="largest-remainder"),
        pytest.param(1, [100, 100], [1, 0], id="tie-to-earlier-line"),
        pytest.param(100, [1000, -500, 2000], [33, 0, 67], id="credit-line-untouched"),
        pytest.param(100, [-500, 1000], [0, 100], id="leading-credit-untouched"),
        pytest.param(5000, [1000, 2000], [1000, 2000], id="capped-at-positive-total"),
        pytest.param(3000, [1000, 2000], [1000, 2000], id="exactly-the-total"),
        pytest.param(5000, [1000, -2000], [1000, 0], id="cap-ignores-credits"),
        pytest.param(100, [-1000, -5], [0, 0], id="only-credits"),
        pytest.param(100, [0, 0], [0, 0], id="only-zero-lines"),
        pytest.param(100, [], [], id="no-lines"),
        pytest.param(0, [1000, 2000], [0, 0], id="zero-amount-off"),
        pytest.param(2, [1, 1, 1], [1, 1, 0], id="more-lines-than-units"),
    ],
)
def test_amount_off(off: int, amounts: list[int], expected: list[int]) -> None:
    assert line_discounts(amount(off), lines(*amounts), amount_off_applies=True) == expected


@pytest.mark.parametrize(
    "amounts", [pytest.param([1000, 2000], id="charges"), pytest.param([1000, -500], id="mixed")]
)
def test_amount_off_only_when_it_applies_to_the_invoice(amounts: list[int]) -> None:
    assert line_discounts(amount(300), lines(*amounts), amount_off_applies=False) == [0, 0]


def test_amount_off_skips_lines_after_the_discount_ends() -> None:
    mixed = [
        DiscountableLine(1000, BEFORE),
        DiscountableLine(2000, ENDS),
        DiscountableLine(3000, AFTER),
        DiscountableLine(1000, BEFORE),
    ]
    assert line_discounts(amount(300, ENDS), mixed, amount_off_applies=True) == [150, 0, 0, 150]
    # The cap is what the covered lines charge, not the whole invoice.
    assert line_discounts(amount(9000, ENDS), mixed, amount_off_applies=True) == [
        1000,
        0,
        0,
        1000,
    ]


def test_amount_off_with_every_line_expired_is_zero() -> None:
    expired = lines(1000, 2000, start=AFTER)
    assert line_discounts(amount(300, ENDS), expired, amount_off_applies=True) == [0, 0]


ITEMS = st.lists(st.tuples(st.integers(-(10**6), 10**6), st.booleans()), max_size=25)


@given(off=st.integers(0, 10**7), items=ITEMS, forever=st.booleans())
def test_amount_off_sums_to_the_capped_amount_over_eligible_charges(
    off: int, items: list[tuple[int, bool]], forever: bool
) -> None:
    batch = [DiscountableLine(a, BEFORE if covered else AFTER) for a, covered in items]
    discount = amount(off, None if forever else ENDS)
    shares = line_discounts(discount, batch, amount_off_applies=True)
    eligible = [a > 0 and (forever or covered) for a, covered in items]
    positive_total = sum(a for (a, _), ok in zip(items, eligible, strict=True) if ok)
    assert len(shares) == len(batch)
    assert sum(shares) == min(off, positive_total)
    for (a, _), ok, share in zip(items, eligible, shares, strict=True):
        if ok:
            assert 0 <= share <= a
        else:
            assert share == 0


@given(off=st.integers(0, 10**7), items=ITEMS)
def test_amount_off_is_zero_when_it_does_not_apply(off: int, items: list[tuple[int, bool]]) -> None:
    batch = [DiscountableLine(a, BEFORE if covered else AFTER) for a, covered in items]
    assert line_discounts(amount(off), batch, amount_off_applies=False) == [0] * len(batch)


@given(items=ITEMS, applies=st.booleans())
def test_no_discount_is_zero_for_any_lines(items: list[tuple[int, bool]], applies: bool) -> None:
    batch = [DiscountableLine(a, BEFORE if covered else AFTER) for a, covered in items]
    assert line_discounts(None, batch, amount_off_applies=applies) == [0] * len(batch)
