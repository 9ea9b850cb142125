"""Invoice numbers: financial years, series keys, formats and the 16-character GST limit."""

from __future__ import annotations

import re
import string
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hisaab.invoicing.numbering import (
    GST_MAX_LENGTH,
    NumberSeriesExhausted,
    Series,
    financial_year,
    invoice_number,
    series,
)

# The e-invoice portal's rules (API.md "Invoice numbers"), written out independently of the
# module's own regex: only A-Z 0-9 / -, and never a leading 0, / or -.
ALLOWED = re.compile(r"^[A-Z0-9/-]+$")
FORBIDDEN_FIRST = ("0", "/", "-")


# --- financial_year: table -------------------------------------------------------------------

# Every month of 2025, first and last day: January to March belong to FY 2024-25.
MONTH_BOUNDARIES = [
    pytest.param(date(2025, month, 1), "2425" if month < 4 else "2526", id=f"2025-{month:02d}-01")
    for month in range(1, 13)
] + [
    pytest.param(
        (date(2025, month + 1, 1) if month < 12 else date(2026, 1, 1)) - timedelta(days=1),
        "2425" if month < 4 else "2526",
        id=f"2025-{month:02d}-last",
    )
    for month in range(1, 13)
]


@pytest.mark.parametrize(("day", "expected"), MONTH_BOUNDARIES)
def test_financial_year_every_month_boundary(day: date, expected: str) -> None:
    assert financial_year(day) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param(date(2025, 3, 31), "2425", id="mar31-still-previous-fy"),
        pytest.param(date(2025, 4, 1), "2526", id="apr1-new-fy"),
        pytest.param(date(2025, 1, 1), "2425", id="jan1-mid-fy"),
        pytest.param(date(2025, 12, 31), "2526", id="dec31-mid-fy"),
        pytest.param(date(2026, 3, 31), "2526", id="mar31-end-of-fy"),
        pytest.param(date(1999, 3, 31), "9899", id="1999-mar31"),
        pytest.param(date(1999, 4, 1), "9900", id="1999-apr1-century-wrap"),
        pytest.param(date(1999, 12, 31), "9900", id="1999-dec31"),
        pytest.param(date(2000, 1, 1), "9900", id="2000-jan1-still-9900"),
        pytest.param(date(2000, 2, 29), "9900", id="2000-leap-day"),
        pytest.param(date(2000, 3, 31), "9900", id="2000-mar31"),
        pytest.param(date(2000, 4, 1), "0001", id="2000-apr1-zero-padded"),
        pytest.param(date(2001, 3, 31), "0001", id="2001-mar31"),
        pytest.param(date(2001, 4, 1), "0102", id="2001-apr1"),
        pytest.param(date(2009, 4, 1), "0910", id="2009-apr1-decade"),
        pytest.param(date(2010, 3, 31), "0910", id="2010-mar31-decade"),
        pytest.param(date(2020, 6, 1), "2021", id="2020-21"),
        pytest.param(date(2099, 3, 31), "9899", id="2099-mar31"),
        pytest.param(date(2099, 4, 1), "9900", id="2099-apr1-century-wrap"),
        pytest.param(date(2099, 12, 31), "9900", id="2099-dec31"),
        pytest.param(date(2100, 3, 31), "9900", id="2100-mar31"),
        pytest.param(date(2100, 4, 1), "0001", id="2100-apr1"),
    ],
)
def test_financial_year_rollovers(day: date, expected: str) -> None:
    assert financial_year(day) == expected


@given(day=st.dates(min_value=date(1901, 1, 1), max_value=date(9998, 12, 31)))
def test_financial_year_is_two_consecutive_two_digit_years(day: date) -> None:
    label = financial_year(day)
    first = day.year if (day.month, day.day) >= (4, 1) else day.year - 1
    assert len(label) == 4
    assert label.isdigit()
    assert int(label[:2]) == first % 100
    assert int(label[2:]) == (first + 1) % 100


@given(day=st.dates(min_value=date(1901, 1, 1), max_value=date(9998, 12, 31)))
def test_financial_year_is_constant_from_april_to_march(day: date) -> None:
    first = day.year if day.month >= 4 else day.year - 1
    assert financial_year(day) == financial_year(date(first, 4, 1))
    assert financial_year(day) == financial_year(date(first + 1, 3, 31))


@given(year=st.integers(1901, 9998))
def test_financial_year_changes_exactly_on_april_first(year: int) -> None:
    assert financial_year(date(year, 3, 31)) != financial_year(date(year, 4, 1))
    assert financial_year(date(year, 3, 31)) == financial_year(date(year - 1, 4, 1))


# --- series: table ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "gst", "day", "clock_id", "expected"),
    [
        pytest.param(
            "invoice", True, date(2025, 4, 1), None, Series("invoice:fy2526", "2526"), id="gst"
        ),
        pytest.param(
            "invoice",
            True,
            date(2025, 3, 31),
            None,
            Series("invoice:fy2425", "2425"),
            id="gst-mar31",
        ),
        pytest.param(
            "invoice", False, date(2025, 4, 1), None, Series("invoice:cy2025", "2025"), id="non-gst"
        ),
        pytest.param(
            "invoice", False, date(2025, 12, 31), None, Series("invoice:cy2025", "2025"), id="dec31"
        ),
        pytest.param(
            "invoice", False, date(2026, 1, 1), None, Series("invoice:cy2026", "2026"), id="jan1"
        ),
        pytest.param(
            "invoice",
            True,
            date(2025, 7, 15),
            "clock_abc",
            Series("invoice:fy2526:clock_abc", "2526"),
            id="gst-clock",
        ),
        pytest.param(
            "invoice",
            False,
            date(2025, 7, 15),
            "clock_abc",
            Series("invoice:cy2025:clock_abc", "2025"),
            id="non-gst-clock",
        ),
        pytest.param(
            "credit_note",
            True,
            date(2025, 7, 15),
            None,
            Series("credit_note:fy2526", "2526"),
            id="other-kind",
        ),
        pytest.param(
            "invoice", False, date(2000, 1, 1), None, Series("invoice:cy2000", "2000"), id="y2k"
        ),
        pytest.param(
            "invoice", True, date(2000, 4, 1), None, Series("invoice:fy0001", "0001"), id="fy-0001"
        ),
    ],
)
def test_series(kind: str, gst: bool, day: date, clock_id: str | None, expected: Series) -> None:
    assert series(kind, gst, day, clock_id) == expected


def test_gst_series_rolls_over_on_april_first_and_others_on_january_first() -> None:
    assert series("invoice", True, date(2026, 1, 1)) == series("invoice", True, date(2025, 4, 1))
    assert series("invoice", True, date(2026, 4, 1)) != series("invoice", True, date(2026, 3, 31))
    assert series("invoice", False, date(2026, 3, 31)) == series("invoice", False, date(2026, 1, 1))
    assert series("invoice", False, date(2026, 1, 1)) != series(
        "invoice", False, date(2025, 12, 31)
    )


def test_gst_and_non_gst_series_differ_for_a_day_whose_labels_differ() -> None:
    gst = series("invoice", True, date(2025, 7, 1))
    plain = series("invoice", False, date(2025, 7, 1))
    assert gst.key != plain.key
    assert gst.label != plain.label


@pytest.mark.parametrize(
    "day",
    [
        pytest.param(date(2021, 1, 1), id="2021-jan1"),
        pytest.param(date(2021, 2, 1), id="2021-feb1"),
        pytest.param(date(2021, 3, 31), id="2021-mar31"),
    ],
)
def test_gst_and_non_gst_series_differ_even_when_their_labels_coincide(day: date) -> None:
    # FY 2020-21 is labelled "2021", like the calendar year 2021: a tenant that gains a GSTIN in
    # January-March 2021 must start the financial year's series at 1, not continue its old one.
    gst = series("invoice", True, day)
    plain = series("invoice", False, day)
    assert gst.label == plain.label == "2021"
    assert gst.key != plain.key


CLOCK_IDS = st.text(alphabet=string.ascii_lowercase + string.digits + "_", min_size=1, max_size=30)
DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))


@given(day=DAYS, gst=st.booleans(), a=CLOCK_IDS, b=CLOCK_IDS)
def test_each_test_clock_has_its_own_series_with_the_same_label(
    day: date, gst: bool, a: str, b: str
) -> None:
    real = series("invoice", gst, day)
    clock_a = series("invoice", gst, day, a)
    clock_b = series("invoice", gst, day, b)
    # Simulated billing never shares the tenant's real series ...
    assert clock_a.key != real.key
    assert clock_b.key != real.key
    # ... nor another clock's,
    assert (clock_a.key == clock_b.key) == (a == b)
    # ... but the number printed on the invoice looks the same.
    assert clock_a.label == clock_b.label == real.label


@given(day=DAYS, gst=st.booleans())
def test_series_label_is_the_financial_year_for_gst_and_the_year_otherwise(
    day: date, gst: bool
) -> None:
    label = series("invoice", gst, day).label
    assert label == (financial_year(day) if gst else str(day.year))


@given(day=DAYS, clock=st.none() | CLOCK_IDS)
def test_gst_and_non_gst_series_never_share_a_key(day: date, clock: str | None) -> None:
    assert series("invoice", True, day, clock).key != series("invoice", False, day, clock).key


@given(day=DAYS, gst=st.booleans())
def test_kinds_have_separate_series(day: date, gst: bool) -> None:
    assert series("invoice", gst, day).key != series("credit_note", gst, day).key


# --- invoice_number: table -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "gst", "label", "sequence", "expected"),
    [
        pytest.param("ACME", True, "2526", 1, "ACME/2526/1", id="gst-first"),
        pytest.param("ACME", True, "2526", 42, "ACME/2526/42", id="gst-unpadded"),
        pytest.param("ACME", True, "0001", 7, "ACME/0001/7", id="gst-fy-0001"),
        pytest.param("ACME", True, "2526", 999_999, "ACME/2526/999999", id="gst-exactly-16"),
        pytest.param("A-B", True, "2526", 3, "A-B/2526/3", id="gst-hyphen-in-prefix"),
        pytest.param("9X", True, "2526", 3, "9X/2526/3", id="gst-leading-non-zero-digit"),
        pytest.param("ACME", False, "2026", 1, "ACME-2026-0001", id="plain-first"),
        pytest.param("ACME", False, "2026", 42, "ACME-2026-0042", id="plain-padded"),
        pytest.param("ACME", False, "2026", 999, "ACME-2026-0999", id="plain-three-digits"),
        pytest.param("ACME", False, "2026", 9_999, "ACME-2026-9999", id="plain-last-padded"),
        pytest.param("ACME", False, "2026", 10_000, "ACME-2026-10000", id="plain-grows-past-9999"),
        pytest.param(
            "ACME", False, "2026", 1_234_567, "ACME-2026-1234567", id="plain-grows-further"
        ),
        pytest.param(
            "LONGPREFIXCO",
            False,
            "2026",
            10**12,
            "LONGPREFIXCO-2026-1000000000000",
            id="plain-has-no-length-limit",
        ),
    ],
)
def test_invoice_number(prefix: str, gst: bool, label: str, sequence: int, expected: str) -> None:
    assert invoice_number(prefix, gst, label, sequence) == expected


# Prefix length p leaves 16 - p - len("/2526/") = 10 - p digits for the sequence.
@pytest.mark.parametrize(
    "prefix",
    [pytest.param("ACMEX"[:n], id=f"prefix-len-{n}") for n in range(1, 6)],
)
def test_gst_number_of_exactly_16_characters_is_accepted_and_17_is_exhausted(
    prefix: str,
) -> None:
    digits = GST_MAX_LENGTH - len(prefix) - len("/2526/")
    largest = 10**digits - 1
    number = invoice_number(prefix, True, "2526", largest)
    assert len(number) == GST_MAX_LENGTH == 16
    assert number == f"{prefix}/2526/{'9' * digits}"
    with pytest.raises(NumberSeriesExhausted, match="16 characters"):
        invoice_number(prefix, True, "2526", largest + 1)


@pytest.mark.parametrize(
    ("prefix", "last_fitting"),
    [
        pytest.param("ABCDEF", 9_999, id="len-6"),
        pytest.param("ABCDEFGHI", 9, id="len-9"),
        pytest.param("ABCDEFGHIJ", None, id="len-10-never-fits"),
        pytest.param("ABCDEFGHIJK", None, id="len-11-never-fits"),
    ],
)
def test_long_gst_prefixes_exhaust_early(prefix: str, last_fitting: int | None) -> None:
    if last_fitting is not None:
        assert len(invoice_number(prefix, True, "2526", last_fitting)) == 16
    with pytest.raises(NumberSeriesExhausted):
        invoice_number(prefix, True, "2526", (last_fitting or 0) + 1)


def test_number_series_exhausted_is_a_value_error() -> None:
    assert issubclass(NumberSeriesExhausted, ValueError)


@pytest.mark.parametrize("gst", [pytest.param(True, id="gst"), pytest.param(False, id="plain")])
@pytest.mark.parametrize("sequence", [0, -1, -9_999])
def test_sequences_start_at_one(gst: bool, sequence: int) -> None:
    with pytest.raises(ValueError, match="start at 1") as info:
        invoice_number("ACME", gst, "2526" if gst else "2026", sequence)
    assert not isinstance(info.value, NumberSeriesExhausted)


@pytest.mark.parametrize(
    "prefix",
    [
        pytest.param("0ACME", id="leading-zero"),
        pytest.param("", id="empty-so-leading-slash"),
        pytest.param("-ACME", id="leading-hyphen"),
        pytest.param("/ACME", id="leading-slash"),
        pytest.param("acme", id="lowercase"),
        pytest.param("AC ME", id="space"),
        pytest.param("AC_ME", id="underscore"),
        pytest.param("ÄCME", id="non-ascii"),
    ],
)
def test_gst_number_breaking_the_character_rules_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="GST character rules") as info:
        invoice_number(prefix, True, "2526", 1)
    assert not isinstance(info.value, NumberSeriesExhausted)


# --- invoice_number: properties --------------------------------------------------------------

PREFIXES = st.text(alphabet=string.ascii_uppercase + string.digits, min_size=1, max_size=12).filter(
    lambda s: not s.startswith("0")
)
SEQUENCES = st.integers(min_value=1, max_value=10**12)
GST_LABELS = st.dates(min_value=date(1999, 1, 1), max_value=date(2100, 12, 31)).map(financial_year)
YEARS = st.integers(2000, 2099).map(str)


def _assert_portal_characters(number: str) -> None:
    assert ALLOWED.match(number), number
    assert not number.startswith(FORBIDDEN_FIRST), number


@given(prefix=PREFIXES, label=GST_LABELS, sequence=SEQUENCES)
def test_gst_number_is_valid_or_exhausted(prefix: str, label: str, sequence: int) -> None:
    expected = f"{prefix}/{label}/{sequence}"
    if len(expected) > 16:
        with pytest.raises(NumberSeriesExhausted):
            invoice_number(prefix, True, label, sequence)
        return
    number = invoice_number(prefix, True, label, sequence)
    assert number == expected
    assert len(number) <= 16
    _assert_portal_characters(number)
    assert int(number.removeprefix(f"{prefix}/{label}/")) == sequence


@given(prefix=PREFIXES, year=YEARS, sequence=SEQUENCES)
def test_plain_number_is_prefix_year_and_padded_sequence(
    prefix: str, year: str, sequence: int
) -> None:
    number = invoice_number(prefix, False, year, sequence)
    tail = number.removeprefix(f"{prefix}-{year}-")
    assert tail != number
    assert tail == str(sequence).zfill(4)
    assert len(tail) == max(4, len(str(sequence)))
    assert int(tail) == sequence
    _assert_portal_characters(number)


@settings(max_examples=50, deadline=None)
@given(
    prefix=PREFIXES.filter(lambda s: len(s) <= 5),
    gst=st.booleans(),
    day=DAYS,
    n=st.integers(1, 2_000),
)
def test_numbers_within_one_series_are_all_distinct(
    prefix: str, gst: bool, day: date, n: int
) -> None:
    label = series("invoice", gst, day).label
    numbers = [invoice_number(prefix, gst, label, seq) for seq in range(1, n + 1)]
    assert len(set(numbers)) == n


@given(prefix=PREFIXES.filter(lambda s: len(s) <= 5), a=GST_LABELS, b=GST_LABELS)
def test_numbers_of_different_financial_years_differ(prefix: str, a: str, b: str) -> None:
    assert (invoice_number(prefix, True, a, 1) == invoice_number(prefix, True, b, 1)) == (a == b)
