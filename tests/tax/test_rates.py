"""Rate tables: every rate in force on the right day, and a clear error where none is."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest

from hisaab.tax.identity import EU_MEMBER_STATES
from hisaab.tax.rates import (
    DEFAULT_SAC,
    EU_VAT_STANDARD,
    GB_VAT_STANDARD,
    GST_RATES,
    GST_SERVICES,
    NoRateInForce,
    RatePeriod,
    eu_vat_rate,
    gb_vat_rate,
    gst_rate,
    in_force,
)

JAN_2026 = date(2026, 1, 1)

# Standard rates in force on 2026-01-01 (European Commission TEDB).
EU_STANDARD_2026 = {
    "AT": "20", "BE": "21", "BG": "20", "CY": "19", "CZ": "21", "DE": "19", "DK": "25",
    "EE": "24", "ES": "21", "FI": "25.5", "FR": "20", "GR": "24", "HR": "25", "HU": "27",
    "IE": "23", "IT": "22", "LT": "21", "LU": "17", "LV": "21", "MT": "18", "NL": "21",
    "PL": "23", "PT": "23", "RO": "21", "SE": "25", "SI": "22", "SK": "23",
}  # fmt: skip


# --- the tables themselves ---------------------------------------------------------------------


def test_eu_table_covers_exactly_the_27_member_states() -> None:
    assert set(EU_VAT_STANDARD) == EU_MEMBER_STATES
    assert len(EU_VAT_STANDARD) == 27


@pytest.mark.parametrize(
    "periods",
    [*EU_VAT_STANDARD.values(), GB_VAT_STANDARD, *GST_RATES.values()],
)
def test_periods_are_sorted_distinct_and_plausible(periods: tuple[RatePeriod, ...]) -> None:
    starts = [p.start for p in periods]
    assert starts == sorted(starts)
    assert len(set(starts)) == len(starts)
    assert all(Decimal(0) < p.rate < Decimal(30) for p in periods)
    # A new period is a change of rate, never a repeat of the one before.
    assert all(a.rate != b.rate for a, b in itertools.pairwise(periods))


def test_every_eu_table_reaches_back_to_2015() -> None:
    """The engine decides from 2015, when B2C e-services moved to the consumer's state."""
    assert all(periods[0].start <= date(2015, 1, 1) for periods in EU_VAT_STANDARD.values())


def test_gst_services_are_six_digit_sacs_all_at_18_percent() -> None:
    assert set(GST_RATES) == set(GST_SERVICES)
    assert DEFAULT_SAC in GST_RATES
    for sac in GST_SERVICES:
        assert len(sac) == 6 and sac.isdigit() and sac.startswith("99")
        assert gst_rate(sac, JAN_2026) == Decimal(18)


# --- EU: every member state on 2026-01-01 ------------------------------------------------------


@pytest.mark.parametrize(("country", "rate"), sorted(EU_STANDARD_2026.items()))
def test_eu_standard_rate_on_2026_01_01(country: str, rate: str) -> None:
    assert eu_vat_rate(country, JAN_2026) == Decimal(rate)


# --- EU: the changes, on the day before and the day of ---------------------------------------

CHANGES = [
    ("EE", date(2024, 1, 1), "20", "22"),
    ("EE", date(2025, 7, 1), "22", "24"),
    ("FI", date(2024, 9, 1), "24", "25.5"),
    ("SK", date(2025, 1, 1), "20", "23"),
    ("RO", date(2025, 8, 1), "19", "21"),
    ("RO", date(2017, 1, 1), "20", "19"),
    ("RO", date(2016, 1, 1), "24", "20"),
    ("LU", date(2023, 1, 1), "17", "16"),
    ("LU", date(2024, 1, 1), "16", "17"),
    ("DE", date(2020, 7, 1), "19", "16"),
    ("DE", date(2021, 1, 1), "16", "19"),
    ("IE", date(2020, 9, 1), "23", "21"),
    ("IE", date(2021, 3, 1), "21", "23"),
    ("GR", date(2016, 6, 1), "23", "24"),
]


@pytest.mark.parametrize(
    ("country", "day", "before", "after"),
    CHANGES,
    ids=[f"{c}-{d.isoformat()}" for c, d, _, _ in CHANGES],
)
def test_eu_rate_changes_on_its_first_day(country: str, day: date, before: str, after: str) -> None:
    assert eu_vat_rate(country, day - timedelta(days=1)) == Decimal(before)
    assert eu_vat_rate(country, day) == Decimal(after)


@pytest.mark.parametrize(
    ("country", "on", "rate"),
    [
        ("FI", date(2024, 8, 31), "24"),
        ("FI", date(2030, 6, 1), "25.5"),  # the last period is open-ended
        ("EE", date(2024, 6, 30), "22"),
        ("LU", date(2023, 7, 14), "16"),
        ("DE", date(2020, 10, 1), "16"),
        ("CY", date(2015, 1, 1), "19"),
        ("AT", date(2015, 1, 1), "20"),
    ],
)
def test_eu_rate_inside_a_period(country: str, on: date, rate: str) -> None:
    assert eu_vat_rate(country, on) == Decimal(rate)


@pytest.mark.parametrize(
    ("country", "on", "message"),
    [
        ("CY", date(2014, 1, 12), "starts on 2014-01-13"),
        ("LU", date(2014, 12, 31), "starts on 2015-01-01"),
        ("GB", JAN_2026, "not an EU member state"),
        ("EL", JAN_2026, "not an EU member state"),  # the VAT prefix is not the ISO code
        ("US", JAN_2026, "not an EU member state"),
    ],
)
def test_eu_rate_not_in_force_is_an_error(country: str, on: date, message: str) -> None:
    with pytest.raises(NoRateInForce, match=message) as caught:
        eu_vat_rate(country, on)
    assert caught.value.regime == "EU VAT"
    assert caught.value.key == country
    assert caught.value.on == on
    assert isinstance(caught.value, ValueError)


# --- UK and India --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "rate"),
    [(date(2011, 1, 4), "20"), (JAN_2026, "20"), (date(2035, 1, 1), "20")],
)
def test_gb_rate(on: date, rate: str) -> None:
    assert gb_vat_rate(on) == Decimal(rate)


def test_gb_rate_before_the_table_is_an_error() -> None:
    with pytest.raises(NoRateInForce, match="UK VAT rate in force for GB on 2011-01-03"):
        gb_vat_rate(date(2011, 1, 3))


@pytest.mark.parametrize(
    ("sac", "on", "rate"),
    [
        ("998314", date(2017, 7, 1), "18"),  # the day GST began
        ("998314", JAN_2026, "18"),
        (None, JAN_2026, "18"),  # no SAC on the plan: 998314
        (" 998315 ", JAN_2026, "18"),
        ("997331", JAN_2026, "18"),
        ("998434", date(2025, 9, 22), "18"),  # unchanged by the September 2025 rationalisation
        ("999293", JAN_2026, "18"),
    ],
)
def test_gst_rate(sac: str | None, on: date, rate: str) -> None:
    assert gst_rate(sac, on) == Decimal(rate)


@pytest.mark.parametrize(
    ("sac", "on", "message"),
    [
        ("998314", date(2017, 6, 30), "GST applies from 2017-07-01"),
        ("996311", JAN_2026, "no such service"),  # accommodation: not a SaaS rate
        ("9983", JAN_2026, "no such service"),  # a heading is not a rate
        ("", JAN_2026, "no such service"),
    ],
)
def test_gst_rate_not_in_force_is_an_error(sac: str, on: date, message: str) -> None:
    with pytest.raises(NoRateInForce, match=message) as caught:
        gst_rate(sac, on)
    assert caught.value.regime == "GST"


def test_in_force_picks_the_latest_started_period() -> None:
    periods = (
        RatePeriod(date(2020, 1, 1), Decimal(1)),
        RatePeriod(date(2021, 1, 1), Decimal(2)),
    )
    assert in_force(periods, date(2019, 12, 31)) is None
    assert in_force(periods, date(2020, 1, 1)) == periods[0]
    assert in_force(periods, date(2020, 12, 31)) == periods[0]
    assert in_force(periods, date(2021, 1, 1)) == periods[1]
    assert in_force((), date(2021, 1, 1)) is None
