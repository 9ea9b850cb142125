"""The pricing models as pure rules: tier boundaries, rounding, and the properties that hold."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from itertools import pairwise
from math import floor
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hisaab.core.errors import HisaabError
from hisaab.usage import pricing
from hisaab.usage.pricing import Charge, Priced, Tier

D = Decimal

# Units 1..1000 at 10, 1001..5000 at 8 (+100 once reached), above 5000 at 5 (+500 once reached).
TIERS = [
    {"up_to": 1000, "unit_amount": 10},
    {"up_to": 5000, "unit_amount": 8, "flat_amount": 100},
    {"up_to": None, "unit_amount": 5, "flat_amount": 500},
]
# Stripe's "fixed fee and overage": the first 1000 included in a flat 20000, then 4 a unit.
FIXED_FEE = [
    {"up_to": 1000, "unit_amount": 0, "flat_amount": 20000},
    {"up_to": None, "unit_amount": 4},
]


def _charge(model: str, **fields: Any) -> Charge:
    return pricing.charge({"meter": "api_calls", "model": model, "currency": "INR", **fields})


def _price(charge: Charge, quantity: Decimal | int | str) -> Priced:
    return pricing.price(charge, D(quantity))


def _total(charge: Charge, quantity: Decimal | int | str) -> int:
    return _price(charge, quantity).amount


# Table tests at the boundaries


@pytest.mark.parametrize(
    ("quantity", "amount"),
    [
        (0, 0),
        (1, 10),
        (999, 9990),
        (1000, 10000),
        (1001, 10000 + 8 + 100),
        (5000, 10000 + 4000 * 8 + 100),
        (5001, 10000 + 32000 + 100 + 5 + 500),
        (1_000_000, 10000 + 32000 + 100 + 995_000 * 5 + 500),
        ("1000.5", 10000 + 4 + 100),  # half a unit in tier 2 reaches it: its flat fee applies
        ("0.05", 1),  # 0.5 rounds half up
        ("0.04", 0),
    ],
)
def test_graduated(quantity: Any, amount: int) -> None:
    assert _total(_charge("graduated", tiers=TIERS), quantity) == amount


@pytest.mark.parametrize(
    ("quantity", "amount"),
    [
        (0, 0),
        (1, 10),
        (1000, 10000),
        (1001, 1001 * 8 + 100),
        (5000, 5000 * 8 + 100),
        (5001, 5001 * 5 + 500),
        (1_000_000, 1_000_000 * 5 + 500),
        ("1000.5", 8004 + 100),  # above 1000 is past the first tier's bound
        ("0.05", 1),
    ],
)
def test_volume(quantity: Any, amount: int) -> None:
    assert _total(_charge("volume", tiers=TIERS), quantity) == amount


@pytest.mark.parametrize(
    ("model", "quantity", "amount"),
    [
        ("graduated", 0, 20000),  # no usage is in the first tier, whose flat fee is due
        ("graduated", 1, 20000),
        ("graduated", 1000, 20000),
        ("graduated", 1001, 20004),
        ("graduated", 1500, 22000),
        ("volume", 0, 20000),
        ("volume", 1000, 20000),
        ("volume", 1001, 4004),  # volume: the whole quantity moves to tier 2, without its fee
    ],
)
def test_flat_fee_of_the_first_tier_is_due_with_no_usage(
    model: str, quantity: int, amount: int
) -> None:
    assert _total(_charge(model, tiers=FIXED_FEE), quantity) == amount


@pytest.mark.parametrize(
    ("quantity", "packages", "amount"),
    [
        (0, 0, 0),
        (1, 1, 500),
        ("0.001", 1, 500),
        (999, 1, 500),
        (1000, 1, 500),
        ("1000.0001", 2, 1000),
        (1001, 2, 1000),
        (2000, 2, 1000),
        (1_000_000, 1000, 500_000),
    ],
)
def test_package(quantity: Any, packages: int, amount: int) -> None:
    priced = _price(_charge("package", unit_amount=500, package_size=1000), quantity)
    assert priced.amount == amount
    (entry,) = priced.breakdown
    assert (entry.packages, entry.quantity, entry.unit_amount) == (packages, D(quantity), 500)


@pytest.mark.parametrize(
    ("unit", "quantity", "amount"),
    [
        (250, 0, 0),
        (250, 1, 250),
        (250, "3.5", 875),
        (250, "0.002", 1),  # 0.5 → 1: half up
        (250, "0.001", 0),  # 0.25 → 0
        ("0.025", 1_000_000, 25000),  # 0.025 paise a token
        ("0.025", 100, 3),  # 2.5 → 3 (half up, not half even)
        ("0.025", 19, 0),  # 0.475
        ("0.025", 20, 1),  # 0.5
        ("0.000000000001", 10**15, 1000),
    ],
)
def test_per_unit(unit: Any, quantity: Any, amount: int) -> None:
    assert _total(_charge("per_unit", unit_amount=unit), quantity) == amount


def test_graduated_breakdown_shows_each_tier_reached() -> None:
    priced = _price(_charge("graduated", tiers=TIERS), 5001)
    assert [
        (e.tier, e.up_to, e.quantity, e.unit_amount, e.flat_amount, e.amount)
        for e in priced.breakdown
    ] == [
        (1, 1000, 1000, 10, 0, 10000),
        (2, 5000, 4000, 8, 100, 32100),
        (3, None, 1, 5, 500, 505),
    ]
    assert priced.currency == "INR"
    assert priced.quantity == 5001


def test_graduated_breakdown_at_zero_and_at_a_bound() -> None:
    charge = _charge("graduated", tiers=TIERS)
    assert [(e.tier, e.quantity, e.amount) for e in _price(charge, 0).breakdown] == [(1, 0, 0)]
    assert [(e.tier, e.quantity) for e in _price(charge, 1000).breakdown] == [(1, 1000)]


def test_volume_breakdown_is_the_one_tier() -> None:
    (entry,) = _price(_charge("volume", tiers=TIERS), 1001).breakdown
    assert (entry.tier, entry.up_to, entry.quantity, entry.unit_amount, entry.flat_amount) == (
        2,
        5000,
        1001,
        8,
        100,
    )


def test_money_is_rounded_once_not_per_tier() -> None:
    """Three tiers of 0.5 each: rounding each line would bill 3; the total is 1.5 → 2, and the
    lines still add up to it."""
    tiers = [
        {"up_to": 1, "unit_amount": "0.5"},
        {"up_to": 2, "unit_amount": "0.5"},
        {"up_to": None, "unit_amount": "0.5"},
    ]
    priced = _price(_charge("graduated", tiers=tiers), 3)
    assert priced.amount == 2
    assert [e.amount for e in priced.breakdown] == [1, 0, 1]


def test_volume_can_cost_less_for_more() -> None:
    """The known counterexample to monotony, documented by Stripe ("the total might
    decrease"): the 11th unit moves every unit into the cheaper tier."""
    charge = _charge(
        "volume", tiers=[{"up_to": 10, "unit_amount": 100}, {"up_to": None, "unit_amount": 50}]
    )
    assert _total(charge, 10) == 1000
    assert _total(charge, 11) == 550


@pytest.mark.parametrize("quantity", [D(-1), D("-0.001"), D("NaN"), D("Infinity")])
def test_prices_only_a_real_non_negative_quantity(quantity: Decimal) -> None:
    with pytest.raises(ValueError, match="cannot price"):
        pricing.price(_charge("per_unit", unit_amount=1), quantity)


def test_a_float_quantity_is_refused() -> None:
    with pytest.raises(TypeError):
        pricing.price(_charge("per_unit", unit_amount=1), 0.1)  # type: ignore[arg-type]


def test_an_int_quantity_is_accepted() -> None:
    assert pricing.price(_charge("per_unit", unit_amount=3), 7).amount == 21  # type: ignore[arg-type]


def test_price_refuses_a_charge_that_could_not_have_been_validated() -> None:
    with pytest.raises(ValueError, match="unbounded"):
        pricing.price(
            Charge("m", "graduated", "INR", tiers=(Tier(up_to=5, unit_amount=D(1)),)), D(1)
        )
    with pytest.raises(ValueError, match="unit_amount"):
        pricing.price(Charge("m", "per_unit", "INR"), D(1))
    with pytest.raises(ValueError, match="package_size"):
        pricing.price(Charge("m", "package", "INR", unit_amount=D(1)), D(1))


def test_the_largest_amounts_are_exact_before_the_one_rounding() -> None:
    """Usage as large and as fine as events carry (10^24, 18 decimals) at the largest, finest
    unit amount: no digit is lost to Decimal's default 28-digit context."""
    unit = "999999999999.999999999999"
    quantity = D("999999999999999999999999.999999999999999999")
    expected = _half_up(Fraction(D(unit)) * Fraction(quantity))
    assert _total(_charge("per_unit", unit_amount=unit), quantity) == expected
    tiers = [{"up_to": 1, "unit_amount": 0}, {"up_to": None, "unit_amount": unit}]
    graduated = _half_up(Fraction(D(unit)) * (Fraction(quantity) - 1))
    assert _total(_charge("graduated", tiers=tiers), quantity) == graduated
    package = _charge("package", unit_amount=unit, package_size=1)
    assert _price(package, quantity).breakdown[0].packages == 10**24


# Properties

_AMOUNT = st.one_of(
    st.integers(min_value=0, max_value=100_000).map(D),
    st.decimals(min_value=0, max_value=1000, places=3),
)
_QUANTITY = st.one_of(
    st.integers(min_value=0, max_value=10**7).map(D),
    st.decimals(min_value=0, max_value=10**6, places=4),
)


@st.composite
def _tiers(draw: st.DrawFn) -> list[dict[str, Any]]:
    bounds = sorted(draw(st.sets(st.integers(min_value=1, max_value=5000), max_size=5)))
    return [
        {
            "up_to": up_to,
            "unit_amount": str(draw(_AMOUNT)),
            "flat_amount": draw(st.integers(min_value=0, max_value=10_000)),
        }
        for up_to in [*bounds, None]
    ]


@st.composite
def _charges(draw: st.DrawFn, models: tuple[str, ...] = pricing.MODELS) -> Charge:
    model = draw(st.sampled_from(models))
    if model in pricing.TIERED:
        return _charge(model, tiers=draw(_tiers()))
    fields: dict[str, Any] = {"unit_amount": str(draw(_AMOUNT))}
    if model == "package":
        fields["package_size"] = draw(st.integers(min_value=1, max_value=10_000))
    return _charge(model, **fields)


@given(_charges(("per_unit", "graduated", "package")), _QUANTITY, _QUANTITY)
def test_more_usage_never_costs_less_except_with_volume(
    charge: Charge, a: Decimal, b: Decimal
) -> None:
    low, high = sorted((a, b))
    assert _total(charge, low) <= _total(charge, high)


@given(_charges(), _QUANTITY)
def test_breakdown_adds_up_to_an_integer_total(charge: Charge, quantity: Decimal) -> None:
    priced = _price(charge, quantity)
    assert type(priced.amount) is int
    assert all(type(e.amount) is int for e in priced.breakdown)
    assert priced.amount == sum(e.amount for e in priced.breakdown)
    assert priced.amount >= 0


@given(_charges(), _QUANTITY)
def test_each_line_is_within_a_minor_unit_of_its_exact_amount(
    charge: Charge, quantity: Decimal
) -> None:
    for entry in _price(charge, quantity).breakdown:
        count = entry.quantity if entry.packages is None else entry.packages
        exact = count * entry.unit_amount + entry.flat_amount
        assert abs(entry.amount - exact) < 1


def _half_up(value: Fraction) -> int:
    return floor(value + Fraction(1, 2))


@given(_charges(("graduated",)), st.integers(min_value=0, max_value=6000))
def test_graduated_equals_pricing_each_unit_by_its_tier(charge: Charge, quantity: int) -> None:
    """An independent reference: walk the units one by one."""

    def tier_of(unit: int) -> int:
        return next(i for i, t in enumerate(charge.tiers) if t.up_to is None or unit <= t.up_to)

    reached = {0} | {tier_of(unit) for unit in range(1, quantity + 1)}
    exact = sum(Fraction(charge.tiers[tier_of(u)].unit_amount) for u in range(1, quantity + 1))
    exact += sum(charge.tiers[i].flat_amount for i in reached)
    priced = _price(charge, quantity)
    assert priced.amount == _half_up(exact)
    assert sum(e.quantity for e in priced.breakdown) == quantity
    assert [e.tier for e in priced.breakdown] == [i + 1 for i in sorted(reached)]


@given(_charges(("volume",)), _QUANTITY)
def test_volume_prices_all_units_at_the_tier_the_total_falls_in(
    charge: Charge, quantity: Decimal
) -> None:
    tier = next(t for t in charge.tiers if t.up_to is None or quantity <= t.up_to)
    exact = Fraction(quantity) * Fraction(tier.unit_amount) + tier.flat_amount
    assert _total(charge, quantity) == _half_up(exact)


@given(
    st.decimals(min_value=0, max_value=pricing.MAX_AMOUNT, places=12),
    st.decimals(min_value=0, max_value=10**15, places=12),
)
def test_per_unit_is_exact_then_rounded_half_up_once(unit: Decimal, quantity: Decimal) -> None:
    charge = _charge("per_unit", unit_amount=format(unit, "f"))
    assert _total(charge, quantity) == _half_up(Fraction(unit) * Fraction(quantity))


@given(_charges(("package",)), _QUANTITY)
def test_a_started_package_is_a_whole_package(charge: Charge, quantity: Decimal) -> None:
    assert charge.package_size is not None
    assert charge.unit_amount is not None
    packages = -(-Fraction(quantity) // charge.package_size)
    assert _price(charge, quantity).breakdown[0].packages == packages
    expected = Fraction(charge.unit_amount) * packages
    assert _total(charge, quantity) == _half_up(expected)


@given(_charges())
def test_stored_form_round_trips(charge: Charge) -> None:
    assert Charge.from_json(charge.as_json()) == charge
    assert pricing.charge(charge.as_json()) == charge


# Validation


def test_equal_amounts_are_stored_the_same_however_written() -> None:
    a = _charge("per_unit", unit_amount="100.50").as_json()
    b = _charge("per_unit", unit_amount="100.5").as_json()
    assert a == b
    assert a["unit_amount"] == "100.5"
    assert _charge("per_unit", unit_amount="100.000").as_json()["unit_amount"] == 100
    assert _charge("per_unit", unit_amount="0.0000001").as_json()["unit_amount"] == "0.0000001"
    tiered = _charge("graduated", tiers=[{"up_to": None, "unit_amount": "7"}]).as_json()
    assert tiered["tiers"] == [{"up_to": None, "unit_amount": 7, "flat_amount": 0}]
    assert tiered["unit_amount"] is None
    assert tiered["package_size"] is None


def test_currency_is_normalised() -> None:
    assert pricing.charge(
        {"meter": "m", "model": "per_unit", "currency": "usd", "unit_amount": 1}
    ).currency == ("USD")


@pytest.mark.parametrize(
    ("fields", "code", "loc"),
    [
        ({"model": "tiered"}, "invalid_model", ("model",)),
        ({"model": None}, "invalid_model", ("model",)),
        ({"meter": ""}, "meter_required", ("meter",)),
        ({"meter": None}, "meter_required", ("meter",)),
        ({"currency": "XYZ"}, "invalid_currency", ("currency",)),
        ({"currency": None}, "invalid_currency", ("currency",)),
        # model-specific fields
        ({"unit_amount": None}, "unit_amount_required", ("unit_amount",)),
        ({"tiers": [{"up_to": None, "unit_amount": 1}]}, "tiers_not_allowed", ("tiers",)),
        ({"tiers": []}, "tiers_not_allowed", ("tiers",)),
        ({"package_size": 10}, "package_size_not_allowed", ("package_size",)),
        ({"model": "package"}, "package_size_required", ("package_size",)),
        ({"model": "package", "package_size": 0}, "invalid_package_size", ("package_size",)),
        ({"model": "package", "package_size": True}, "invalid_package_size", ("package_size",)),
        ({"model": "package", "package_size": 2**53}, "invalid_package_size", ("package_size",)),
        ({"model": "graduated", "unit_amount": None}, "tiers_required", ("tiers",)),
        (
            {"model": "volume", "unit_amount": None, "tiers": []},
            "tiers_required",
            ("tiers",),
        ),
        (
            {"model": "graduated", "tiers": [{"up_to": None, "unit_amount": 1}]},
            "unit_amount_not_allowed",
            ("unit_amount",),
        ),
        (
            {
                "model": "volume",
                "unit_amount": None,
                "package_size": 5,
                "tiers": [{"up_to": None, "unit_amount": 1}],
            },
            "package_size_not_allowed",
            ("package_size",),
        ),
        # amounts
        ({"unit_amount": -1}, "amount_out_of_range", ("unit_amount",)),
        ({"unit_amount": "-0.5"}, "amount_out_of_range", ("unit_amount",)),
        ({"unit_amount": 10**12 + 1}, "amount_out_of_range", ("unit_amount",)),
        ({"unit_amount": "1e30"}, "amount_out_of_range", ("unit_amount",)),
        ({"unit_amount": 1.5}, "invalid_amount", ("unit_amount",)),
        ({"unit_amount": True}, "invalid_amount", ("unit_amount",)),
        ({"unit_amount": "abc"}, "invalid_amount", ("unit_amount",)),
        ({"unit_amount": "NaN"}, "invalid_amount", ("unit_amount",)),
        ({"unit_amount": "Infinity"}, "invalid_amount", ("unit_amount",)),
        ({"unit_amount": "0.0000000000001"}, "invalid_amount", ("unit_amount",)),
    ],
)
def test_invalid_charges(fields: dict[str, Any], code: str, loc: tuple[Any, ...]) -> None:
    raw = {"meter": "api_calls", "model": "per_unit", "currency": "INR", "unit_amount": 100}
    with pytest.raises(HisaabError) as raised:
        pricing.charge({**raw, **fields}, ("body", "charges", 3))
    assert raised.value.code == code
    assert raised.value.status == 422
    assert raised.value.errors[0].loc == ("body", "charges", 3, *loc)


def _tier(up_to: int | None, unit: Any = 1, **more: Any) -> dict[str, Any]:
    return {"up_to": up_to, "unit_amount": unit, **more}


@pytest.mark.parametrize(
    ("tiers", "code", "loc"),
    [
        ([_tier(10)], "last_tier_bounded", (0, "up_to")),
        ([_tier(10), _tier(20)], "last_tier_bounded", (1, "up_to")),
        ([_tier(None), _tier(None)], "tier_unbounded_not_last", (0, "up_to")),
        ([_tier(10), _tier(None), _tier(20)], "tier_unbounded_not_last", (1, "up_to")),
        ([_tier(10), _tier(10), _tier(None)], "tiers_not_increasing", (1, "up_to")),
        ([_tier(10), _tier(5), _tier(None)], "tiers_not_increasing", (1, "up_to")),
        ([_tier(0), _tier(None)], "tiers_not_increasing", (0, "up_to")),
        ([_tier(-5), _tier(None)], "tiers_not_increasing", (0, "up_to")),
        ([_tier(2**53), _tier(None)], "tiers_not_increasing", (0, "up_to")),
        ([_tier(True), _tier(None)], "invalid_tiers", (0, "up_to")),
        ([_tier("10"), _tier(None)], "invalid_tiers", (0, "up_to")),
        ([_tier(10), _tier(None, None)], "unit_amount_required", (1, "unit_amount")),
        ([_tier(None, -1)], "amount_out_of_range", (0, "unit_amount")),
        ([_tier(None, 1, flat_amount=-1)], "amount_out_of_range", (0, "flat_amount")),
        ([_tier(None, 1, flat_amount=10**13)], "amount_out_of_range", (0, "flat_amount")),
        ([_tier(None, 1, flat_amount="5")], "invalid_amount", (0, "flat_amount")),
        ([_tier(None, 1, flat_amount=1.0)], "invalid_amount", (0, "flat_amount")),
        ([_tier(i) for i in range(1, 51)] + [_tier(None)], "invalid_tiers", ()),
    ],
)
@pytest.mark.parametrize("model", ["graduated", "volume"])
def test_invalid_tiers(
    model: str, tiers: list[dict[str, Any]], code: str, loc: tuple[Any, ...]
) -> None:
    raw = {"meter": "api_calls", "model": model, "currency": "INR", "tiers": tiers}
    with pytest.raises(HisaabError) as raised:
        pricing.charge(raw)
    assert raised.value.code == code
    assert raised.value.errors[0].loc == ("body", "tiers", *loc)


def test_fifty_tiers_are_enough() -> None:
    tiers = [_tier(i) for i in range(1, 50)] + [_tier(None)]
    assert len(_charge("graduated", tiers=tiers).tiers) == pricing.MAX_TIERS


@given(st.lists(st.integers(min_value=-3, max_value=30), min_size=1, max_size=6))
def test_tiers_are_accepted_exactly_when_bounds_strictly_increase_from_one(
    bounds: list[int],
) -> None:
    tiers = [_tier(b) for b in bounds] + [_tier(None)]
    valid = bounds[0] >= 1 and all(a < b for a, b in pairwise(bounds))
    if valid:
        assert [t.up_to for t in _charge("volume", tiers=tiers).tiers] == [*bounds, None]
    else:
        with pytest.raises(HisaabError) as raised:
            _charge("volume", tiers=tiers)
        assert raised.value.code == "tiers_not_increasing"


def test_round_half_up_is_what_decimal_calls_it() -> None:
    # Guard against a refactor to the default (half even) context.
    assert D("2.5").quantize(D(1), rounding=ROUND_HALF_UP) == 3
    assert _total(_charge("per_unit", unit_amount="0.5"), 5) == 3
