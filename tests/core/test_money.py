"""Money: integer minor units + ISO 4217 code, exponent from Babel, half-up rounding once."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal

import pytest
from babel.numbers import get_currency_precision, list_currencies
from hypothesis import given, settings
from hypothesis import strategies as st

from hisaab.core.money import (
    CurrencyError,
    Money,
    _known_currencies,
    exponent,
    normalize_currency,
    total,
)

SAMPLE_CURRENCIES = ["INR", "USD", "EUR", "GBP", "JPY", "KRW", "CLP", "KWD", "BHD", "OMR", "JOD"]
# PostgreSQL bigint: the range amounts are stored in.
BIGINT = st.integers(min_value=-(2**63), max_value=2**63 - 1)
AMOUNTS = st.integers(min_value=-(10**15), max_value=10**15)
currencies = st.sampled_from(SAMPLE_CURRENCIES)


# --- exponent -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "digits"),
    [
        ("INR", 2),
        ("USD", 2),
        ("EUR", 2),
        ("GBP", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("CLP", 0),
        ("KWD", 3),
        ("BHD", 3),
        ("OMR", 3),
        ("JOD", 3),
        ("TND", 3),
    ],
)
def test_exponent_table(currency: str, digits: int) -> None:
    assert exponent(currency) == digits
    assert exponent(currency) == get_currency_precision(currency)


@pytest.mark.parametrize("currency", sorted(_known_currencies()))
def test_exponent_matches_babel_for_every_known_currency(currency: str) -> None:
    assert exponent(currency) == int(get_currency_precision(currency))


def test_known_currencies_are_current_iso_4217_money() -> None:
    known = _known_currencies()
    assert {"INR", "USD", "EUR", "JPY", "KWD", "XOF", "XAF", "XCD"} <= known
    babel_only = {c.upper() for c in list_currencies()} - known
    assert {"DEM", "XAU", "XTS", "XXX", "XDR"} <= babel_only


@pytest.mark.parametrize("code", ["DEM", "XAU", "XTS", "XXX", "XDR", "CHE", "USN"])
def test_withdrawn_and_non_money_codes_are_refused(code: str) -> None:
    with pytest.raises(CurrencyError):
        normalize_currency(code)


def test_exponent_accepts_lower_case_and_rejects_unknown() -> None:
    assert exponent("jpy") == 0
    with pytest.raises(CurrencyError):
        exponent("ZZZ")


# --- normalize_currency ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("INR", "INR"), ("inr", "INR"), ("Inr", "INR"), (" usd ", "USD"), ("kwd\n", "KWD")],
)
def test_normalize_currency_upper_cases_and_strips(raw: str, expected: str) -> None:
    assert normalize_currency(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "IN", "INRR", "RS", "ZZZ", "QQQ", "US$", "₹", "I N R", "123", "EURO", "IN R"],
)
def test_normalize_currency_rejects_non_iso_codes(raw: str) -> None:
    with pytest.raises(CurrencyError):
        normalize_currency(raw)


def test_currency_error_is_a_value_error() -> None:
    assert issubclass(CurrencyError, ValueError)


# --- construction ---------------------------------------------------------------------------


def test_money_normalizes_its_currency() -> None:
    assert Money(100, "inr") == Money(100, "INR")
    assert Money(100, " usd ").currency == "USD"


@pytest.mark.parametrize(
    "amount", [True, False, 1.0, 0.5, Decimal("1"), Decimal("1.5"), "100", None, 1 + 0j]
)
def test_money_rejects_non_int_amounts(amount: object) -> None:
    with pytest.raises(TypeError):
        Money(amount, "INR")  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["", "XYZ", "rupee", "IN"])
def test_money_rejects_unknown_currency(currency: str) -> None:
    with pytest.raises(CurrencyError):
        Money(1, currency)


def test_money_is_immutable() -> None:
    money = Money(100, "INR")
    with pytest.raises(dataclasses.FrozenInstanceError):
        money.amount = 5  # type: ignore[misc]


def test_zero_and_is_zero() -> None:
    assert Money.zero("jpy") == Money(0, "JPY")
    assert Money.zero("INR").is_zero()
    assert not Money(1, "INR").is_zero()
    assert not Money(-1, "INR").is_zero()


# --- arithmetic and comparison --------------------------------------------------------------


def test_add_sub_neg_same_currency() -> None:
    a, b = Money(50_000, "INR"), Money(1_234, "INR")
    assert a + b == Money(51_234, "INR")
    assert a - b == Money(48_766, "INR")
    assert b - a == Money(-48_766, "INR")
    assert -a == Money(-50_000, "INR")
    assert -Money(0, "INR") == Money(0, "INR")


def test_comparisons_same_currency() -> None:
    small, big = Money(1, "USD"), Money(2, "USD")
    assert small < big
    assert small <= big
    assert small <= Money(1, "USD")
    assert big > small
    assert big >= small
    assert not big < small
    assert not big <= small
    assert not small > big
    assert small == Money(1, "USD")
    assert small != big


def test_equal_amounts_in_different_currencies_are_not_equal() -> None:
    assert Money(100, "INR") != Money(100, "USD")


@pytest.mark.parametrize(
    "operation",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
        lambda a, b: a >= b,
    ],
    ids=["add", "sub", "lt", "le", "gt", "ge"],
)
@pytest.mark.parametrize(("left", "right"), [("INR", "USD"), ("JPY", "KWD"), ("EUR", "GBP")])
def test_mixing_currencies_raises(
    operation: Callable[[Money, Money], object], left: str, right: str
) -> None:
    with pytest.raises(CurrencyError):
        operation(Money(1, left), Money(1, right))


# --- from_decimal / to_decimal --------------------------------------------------------------


@pytest.mark.parametrize(
    ("major", "currency", "minor"),
    [
        ("12.345", "INR", 1235),
        ("12.344", "INR", 1234),
        ("12.3449", "INR", 1234),  # rounded once: a double rounding would give 1235
        ("12.3450", "INR", 1235),
        ("-12.345", "INR", -1235),
        ("0.005", "INR", 1),
        ("0.004999", "INR", 0),
        ("-0.005", "INR", -1),  # ROUND_HALF_UP rounds halves away from zero
        ("-0.004", "INR", 0),
        ("500", "INR", 50_000),
        ("1E+2", "INR", 10_000),
        ("0", "INR", 0),
        ("100.5", "JPY", 101),
        ("100.49", "JPY", 100),
        ("-100.5", "JPY", -101),
        ("0.5", "JPY", 1),
        ("1000", "JPY", 1000),
        ("1.2345", "KWD", 1235),
        ("1.2344", "KWD", 1234),
        ("0.0005", "KWD", 1),
        ("-0.0005", "KWD", -1),
        ("1.2345", "BHD", 1235),
        ("0.995", "USD", 100),
        ("12.5", "CLP", 13),
    ],
)
def test_from_decimal_rounds_half_up_once(major: str, currency: str, minor: int) -> None:
    money = Money.from_decimal(Decimal(major), currency)
    assert money == Money(minor, currency)
    assert type(money.amount) is int


def test_from_decimal_normalizes_currency() -> None:
    assert Money.from_decimal(Decimal("1.5"), "kwd") == Money(1500, "KWD")


@pytest.mark.parametrize(
    ("minor", "currency", "major"),
    [
        (1235, "INR", "12.35"),
        (5, "INR", "0.05"),
        (-5, "INR", "-0.05"),
        (1000, "JPY", "1000"),
        (1234, "KWD", "1.234"),
        (1, "BHD", "0.001"),
    ],
)
def test_to_decimal_table(minor: int, currency: str, major: str) -> None:
    assert Money(minor, currency).to_decimal() == Decimal(major)


@pytest.mark.parametrize(
    ("money", "text"),
    [
        (Money(1235, "INR"), "12.35 INR"),
        (Money(0, "INR"), "0.00 INR"),
        (Money(-5, "KWD"), "-0.005 KWD"),
        (Money(1000, "JPY"), "1000 JPY"),
    ],
)
def test_str(money: Money, text: str) -> None:
    assert str(money) == text


@settings(max_examples=100)
@given(amount=BIGINT, currency=currencies)
def test_decimal_round_trip(amount: int, currency: str) -> None:
    money = Money(amount, currency)
    assert Money.from_decimal(money.to_decimal(), currency) == money


@settings(max_examples=100)
@given(amount=AMOUNTS, currency=currencies)
def test_to_decimal_has_the_currency_exponent(amount: int, currency: str) -> None:
    value = Money(amount, currency).to_decimal()
    assert value * Decimal(10) ** exponent(currency) == amount
    assert -value.as_tuple().exponent == exponent(currency)  # type: ignore[operator]


@settings(max_examples=100)
@given(
    major=st.decimals(
        min_value=Decimal(-(10**12)), max_value=Decimal(10**12), places=6, allow_nan=False
    ),
    currency=currencies,
)
def test_from_decimal_is_within_half_a_minor_unit_and_symmetric(
    major: Decimal, currency: str
) -> None:
    money = Money.from_decimal(major, currency)
    error = money.to_decimal() - major
    half = Decimal("0.5").scaleb(-exponent(currency))
    if major >= 0:
        assert -half < error <= half
    else:
        assert -half <= error < half
    assert Money.from_decimal(-major, currency) == -money


# --- algebra --------------------------------------------------------------------------------


@settings(max_examples=100)
@given(a=AMOUNTS, b=AMOUNTS, c=AMOUNTS, currency=currencies)
def test_addition_is_commutative_and_associative(a: int, b: int, c: int, currency: str) -> None:
    x, y, z = Money(a, currency), Money(b, currency), Money(c, currency)
    assert x + y == y + x
    assert (x + y) + z == x + (y + z)
    assert x + Money.zero(currency) == x
    assert x + -x == Money.zero(currency)
    assert (x - y) + y == x
    negated = -x
    assert -negated == x
    assert negated.amount == -a


@settings(max_examples=100)
@given(a=AMOUNTS, b=AMOUNTS, currency=currencies)
def test_ordering_follows_amounts(a: int, b: int, currency: str) -> None:
    x, y = Money(a, currency), Money(b, currency)
    assert (x < y) == (a < b)
    assert (x <= y) == (a <= b)
    assert (x > y) == (a > b)
    assert (x >= y) == (a >= b)


# --- total ----------------------------------------------------------------------------------


def test_total_of_empty_list_is_zero() -> None:
    result = total([], "inr")
    assert result == Money(0, "INR")
    assert total([], "JPY") == Money(0, "JPY")


def test_total_sums_same_currency() -> None:
    assert total([Money(100, "INR"), Money(250, "INR"), Money(-50, "INR")], "INR") == Money(
        300, "INR"
    )


def test_total_rejects_a_different_currency() -> None:
    with pytest.raises(CurrencyError):
        total([Money(100, "INR"), Money(1, "USD")], "INR")
    with pytest.raises(CurrencyError):
        total([Money(100, "USD")], "INR")


@settings(max_examples=100)
@given(amounts=st.lists(AMOUNTS, max_size=20), currency=currencies)
def test_total_equals_sum_of_amounts(amounts: list[int], currency: str) -> None:
    assert total([Money(a, currency) for a in amounts], currency) == Money(sum(amounts), currency)


# --- format ---------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "en_IN", "de"])
@pytest.mark.parametrize(
    ("money", "symbol"),
    [(Money(10_000_000, "INR"), "₹"), (Money(100_000, "EUR"), "€"), (Money(1000, "USD"), "$")],
)
def test_format_contains_currency_symbol(money: Money, symbol: str, locale: str) -> None:
    assert symbol in money.format(locale)


@pytest.mark.parametrize(
    ("money", "locale", "digits"),
    [
        (Money(10_000_000, "INR"), "en_IN", "1,00,000.00"),
        (Money(10_000_000, "INR"), "en", "100,000.00"),
        (Money(10_000_000, "INR"), "de", "100.000,00"),
        (Money(100_000, "EUR"), "de", "1.000,00"),
        (Money(1234, "KWD"), "en", "1.234"),
        (Money(-1235, "INR"), "en", "12.35"),
    ],
)
def test_format_uses_locale_grouping_and_exponent(money: Money, locale: str, digits: str) -> None:
    assert digits in money.format(locale)


def test_format_jpy_has_no_decimals() -> None:
    text = Money(1000, "JPY").format("en")
    assert "1,000" in text
    assert "." not in text


def test_format_default_locale_is_en() -> None:
    assert Money(12345, "USD").format() == Money(12345, "USD").format("en")
    assert "123.45" in Money(12345, "USD").format()
