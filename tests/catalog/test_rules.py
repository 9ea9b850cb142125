"""The catalog's pure rules, without a database."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hisaab.catalog import rules
from hisaab.catalog.terms import PlanTerms
from hisaab.core.errors import HisaabError
from hisaab.subscriptions.periods import INTERVALS


@given(st.sampled_from(INTERVALS), st.integers(min_value=-10, max_value=400))
def test_interval_count_bounds(interval: Any, count: int) -> None:
    limit = rules.MAX_INTERVAL_COUNT[interval]
    if 1 <= count <= limit:
        assert rules.interval_count(interval, count) == count
    else:
        with pytest.raises(HisaabError) as raised:
            rules.interval_count(interval, count)
        assert raised.value.code == "interval_count_out_of_range"
        assert raised.value.errors[0].loc == ("body", "interval_count")


def test_every_interval_has_a_bound() -> None:
    assert set(rules.MAX_INTERVAL_COUNT) == set(INTERVALS)


@given(
    st.lists(
        st.tuples(st.sampled_from(["inr", "USD", "eur", "Jpy", "KWD"]), st.integers(0, 10**12)),
        min_size=1,
        max_size=5,
    )
)
def test_prices_are_upper_case_sorted_and_unique(entries: list[tuple[str, int]]) -> None:
    codes = [c.upper() for c, _ in entries]
    if len(set(codes)) < len(codes):
        with pytest.raises(HisaabError) as raised:
            rules.prices(entries)
        assert raised.value.code == "duplicate_currency"
        duplicate_at = next(i for i, c in enumerate(codes) if c in codes[:i])
        assert raised.value.errors[0].loc == ("body", "prices", duplicate_at, "currency")
    else:
        result = rules.prices(entries)
        assert list(result) == sorted(codes)
        assert result == {c.upper(): a for c, a in entries}


def _terms(**overrides: Any) -> rules.VersionTerms:
    base: dict[str, Any] = {
        "interval": "month",
        "interval_count": 1,
        "trial_days": 0,
        "tax_behavior": "exclusive",
        "sac_code": "998314",
        "features": {"sso": True},
        "prices": {"INR": 100},
    }
    return rules.VersionTerms(**{**base, **overrides})


def test_same_terms_compare_feature_types() -> None:
    assert _terms().same_as(_terms())
    assert not _terms().same_as(_terms(features={"sso": 1}))
    assert not _terms().same_as(_terms(prices={"INR": 101}))
    assert _terms(features={"a": 1, "b": 2}).same_as(_terms(features={"b": 2, "a": 1}))


@pytest.mark.parametrize(
    ("percent", "amount", "currency", "code"),
    [
        (Decimal(10), 100, "INR", "discount_ambiguous"),
        (None, None, None, "discount_required"),
        (None, None, "INR", "discount_required"),
        (None, 100, None, "currency_required"),
        (Decimal(10), None, "INR", "currency_without_amount"),
        (None, 100, "ZZZ", "invalid_currency"),
    ],
)
def test_discount_combinations(
    percent: Decimal | None, amount: int | None, currency: str | None, code: str
) -> None:
    with pytest.raises(HisaabError) as raised:
        rules.discount(percent, amount, currency)
    assert raised.value.code == code


def test_discount_normalizes() -> None:
    assert rules.discount(Decimal("1E+2"), None, None).percent_off == Decimal("100.00")
    assert rules.discount(None, 5, "usd").currency == "USD"


@pytest.mark.parametrize(
    ("duration", "periods", "ok"),
    [
        ("once", None, True),
        ("forever", None, True),
        ("repeating", 3, True),
        ("repeating", None, False),
        ("once", 1, False),
        ("forever", 12, False),
    ],
)
def test_duration_in_periods(duration: Any, periods: int | None, ok: bool) -> None:
    if ok:
        assert rules.duration_in_periods(duration, periods) == periods
    else:
        with pytest.raises(HisaabError):
            rules.duration_in_periods(duration, periods)


def test_unit_amount_without_a_price_in_that_currency() -> None:
    terms = PlanTerms(
        plan_id="plan_x",
        version=1,
        code="free",
        name="Free",
        archived=False,
        interval="month",
        interval_count=1,
        trial_days=0,
        tax_behavior="exclusive",
        sac_code="998314",
        features={},
        prices={},
    )
    with pytest.raises(HisaabError) as raised:
        terms.unit_amount("INR")
    assert raised.value.code == "price_unavailable"
    assert "none" in raised.value.detail
