"""The posting rules and the recognition schedule, without a database: tables of known cases, and
properties that hold for any amounts (every builder balances or refuses; slices add up and tile)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hisaab.ledger import chart, entries
from hisaab.ledger.entries import Posting, Unbalanced

KOLKATA = ZoneInfo("Asia/Kolkata")
BERLIN = ZoneInfo("Europe/Berlin")
CUS, INV = "cus_1", "in_1"


def _table(postings: tuple[Posting, ...]) -> dict[str, tuple[int, int]]:
    return {p.account: (p.debit, p.credit) for p in postings}


def _balanced(postings: tuple[Posting, ...]) -> None:
    assert sum(p.debit for p in postings) == sum(p.credit for p in postings)
    for p in postings:
        assert p.debit >= 0
        assert p.credit >= 0
        assert (p.debit == 0) != (p.credit == 0)
        assert (p.customer_id, p.invoice_id) == (CUS, INV)


def test_finalize_with_cgst_and_sgst() -> None:
    postings = entries.finalized(
        CUS,
        INV,
        net=200_000,
        taxes={"CGST": 18_000, "SGST": 18_000},
        amount_due=236_000,
        credit_applied=0,
        credit_granted=0,
    )
    assert _table(postings) == {
        "1100": (236_000, 0),
        "2200": (0, 200_000),
        "2310": (0, 18_000),
        "2320": (0, 18_000),
    }


def test_finalize_with_credit_applied_debits_the_credit_liability() -> None:
    postings = entries.finalized(
        CUS, INV, net=100_000, taxes={}, amount_due=60_000, credit_applied=40_000, credit_granted=0
    )
    assert _table(postings) == {"1100": (60_000, 0), "2100": (40_000, 0), "2200": (0, 100_000)}


def test_a_net_credit_invoice_grants_credit_and_reduces_deferred_revenue() -> None:
    postings = entries.finalized(
        CUS,
        INV,
        net=-50_000,
        taxes={"IGST": 0},
        amount_due=0,
        credit_applied=0,
        credit_granted=50_000,
    )
    assert _table(postings) == {"2100": (0, 50_000), "2200": (50_000, 0)}


def test_finalize_refuses_amounts_that_do_not_add_up() -> None:
    with pytest.raises(Unbalanced):
        entries.finalized(
            CUS, INV, net=100, taxes={"VAT": 20}, amount_due=100, credit_applied=0, credit_granted=0
        )


def test_unknown_tax_type_has_no_account() -> None:
    with pytest.raises(chart.UnknownTaxType):
        entries.finalized(
            CUS, INV, net=100, taxes={"GST": 5}, amount_due=105, credit_applied=0, credit_granted=0
        )


@pytest.mark.parametrize(
    ("written_off", "credited"), [(False, "1100"), (True, "6100")], ids=["open", "recovered"]
)
def test_payment_clears_the_receivable_or_recovers_the_write_off(
    written_off: bool, credited: str
) -> None:
    postings = entries.paid(CUS, INV, 500, written_off=written_off)
    assert _table(postings) == {"1200": (500, 0), credited: (0, 500)}


def test_zero_movements_post_nothing() -> None:
    assert entries.paid(CUS, INV, 0, written_off=False) == ()
    assert entries.written_off(CUS, INV, 0) == ()
    assert entries.recognized(CUS, INV, 0) == ()
    assert (
        entries.finalized(
            CUS, INV, net=0, taxes={}, amount_due=0, credit_applied=0, credit_granted=0
        )
        == ()
    )


def test_write_off_and_recognition() -> None:
    assert _table(entries.written_off(CUS, INV, 700)) == {"6100": (700, 0), "1100": (0, 700)}
    assert _table(entries.recognized(CUS, INV, 300)) == {"2200": (300, 0), "4000": (0, 300)}
    assert _table(entries.recognized(CUS, INV, -300)) == {"2200": (0, 300), "4000": (300, 0)}


def test_reversal_brings_every_balance_back_to_zero() -> None:
    balances = {"1100": 60_000, "2100": 40_000, "2200": -80_000, "4000": -20_000}
    postings = entries.reversal(CUS, INV, balances)
    assert _table(postings) == {
        "1100": (0, 60_000),
        "2100": (0, 40_000),
        "2200": (80_000, 0),
        "4000": (20_000, 0),
    }
    with pytest.raises(Unbalanced):
        entries.reversal(CUS, INV, {"1100": 1})


def test_credit_note_splits_where_the_money_goes() -> None:
    postings = entries.credit_note(
        CUS,
        INV,
        net=10_000,
        taxes={"CGST": 900, "SGST": 900},
        to_receivable=5_000,
        to_customer_credit=4_000,
        refunded=2_800,
    )
    assert _table(postings) == {
        "4900": (10_000, 0),
        "2310": (900, 0),
        "2320": (900, 0),
        "1100": (0, 5_000),
        "2100": (0, 4_000),
        "1200": (0, 2_800),
    }


def test_credit_note_on_a_written_off_invoice_reduces_the_write_off() -> None:
    postings = entries.credit_note(
        CUS,
        INV,
        net=1_000,
        taxes={},
        to_receivable=1_000,
        to_customer_credit=0,
        refunded=0,
        written_off_balance=600,
    )
    assert _table(postings) == {"4900": (1_000, 0), "6100": (0, 600), "1100": (0, 400)}


@pytest.mark.parametrize(
    "amounts",
    [
        {"net": 100, "taxes": {}, "to_receivable": 50, "to_customer_credit": 0, "refunded": 0},
        {"net": -100, "taxes": {}, "to_receivable": -100, "to_customer_credit": 0, "refunded": 0},
        {
            "net": 100,
            "taxes": {"VAT": -1},
            "to_receivable": 99,
            "to_customer_credit": 0,
            "refunded": 0,
        },
    ],
)
def test_credit_note_refuses_bad_amounts(amounts: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        entries.credit_note(CUS, INV, **amounts)  # type: ignore[arg-type]


def test_amounts_must_be_integers() -> None:
    with pytest.raises(TypeError):
        entries.paid(CUS, INV, 1.5, written_off=False)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        entries.recognized(CUS, INV, True)


# --- properties: every builder balances -----------------------------------------------------

amounts = st.integers(min_value=0, max_value=10**12)
signed = st.integers(min_value=-(10**12), max_value=10**12)
tax_maps = st.dictionaries(st.sampled_from(sorted(chart.TAX_PAYABLE)), amounts, max_size=5)


@given(net=signed, taxes=tax_maps, applied=amounts)
def test_finalized_always_balances(net: int, taxes: dict[str, int], applied: int) -> None:
    total = net + sum(taxes.values())
    used = min(applied, max(total, 0))
    postings = entries.finalized(
        CUS,
        INV,
        net=net,
        taxes=taxes,
        amount_due=max(total, 0) - used,
        credit_applied=used,
        credit_granted=max(-total, 0),
    )
    _balanced(postings)


@given(amount=amounts, written_off=st.booleans())
def test_payments_and_write_offs_balance(amount: int, written_off: bool) -> None:
    _balanced(entries.paid(CUS, INV, amount, written_off=written_off))
    _balanced(entries.written_off(CUS, INV, amount))
    _balanced(entries.recognized(CUS, INV, amount))


@given(
    net=amounts,
    taxes=tax_maps,
    split=st.tuples(amounts, amounts),
    written_off=amounts,
)
def test_credit_notes_balance(
    net: int, taxes: dict[str, int], split: tuple[int, int], written_off: int
) -> None:
    total = net + sum(taxes.values())
    to_receivable = min(split[0], total)
    to_credit = min(split[1], total - to_receivable)
    postings = entries.credit_note(
        CUS,
        INV,
        net=net,
        taxes=taxes,
        to_receivable=to_receivable,
        to_customer_credit=to_credit,
        refunded=total - to_receivable - to_credit,
        written_off_balance=written_off,
    )
    _balanced(postings)


@given(st.lists(st.tuples(st.sampled_from(sorted(chart.ACCOUNTS)), signed), max_size=8))
def test_reversal_of_any_balanced_history_balances(moves: list[tuple[str, int]]) -> None:
    balances: dict[str, int] = {}
    for code, amount in moves:
        balances[code] = balances.get(code, 0) + amount
    balances["1200"] = balances.get("1200", 0) - sum(balances.values())
    postings = entries.reversal(CUS, INV, balances)
    _balanced(postings)
    after = dict(balances)
    for p in postings:
        after[p.account] += p.signed
    assert set(after.values()) <= {0}


# --- recognition schedule ------------------------------------------------------------------


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_a_month_billed_on_the_local_first_is_one_slice() -> None:
    start, end = _at("2026-04-01T00:00:00+05:30"), _at("2026-05-01T00:00:00+05:30")
    assert entries.recognition_schedule(200_000, start, end, KOLKATA, start) == (
        entries.Slice(start, end, end, 200_000),
    )


def test_a_year_is_cut_at_each_local_month_end_by_days() -> None:
    start, end = _at("2026-04-01T00:00:00+05:30"), _at("2027-04-01T00:00:00+05:30")
    slices = entries.recognition_schedule(1_200_000, start, end, KOLKATA, start)
    assert len(slices) == 12
    assert [s.recognize_at for s in slices[:2]] == [
        _at("2026-05-01T00:00:00+05:30"),
        _at("2026-06-01T00:00:00+05:30"),
    ]
    # Cumulative shares rounded once: 30/365 and 61/365 of the year.
    assert [s.amount for s in slices[:2]] == [98_630, 200_548 - 98_630]
    assert sum(s.amount for s in slices) == 1_200_000


def test_a_period_starting_mid_month_is_prorated_by_time() -> None:
    start, end = _at("2026-04-16T00:00:00+05:30"), _at("2026-05-16T00:00:00+05:30")
    slices = entries.recognition_schedule(-100_000, start, end, KOLKATA, start)
    assert [(s.recognize_at, s.amount) for s in slices] == [
        (_at("2026-05-01T00:00:00+05:30"), -50_000),
        (end, -50_000),
    ]


def test_what_was_earned_before_the_issue_time_is_recognised_at_once() -> None:
    start, end = _at("2026-03-01T00:00:00+01:00"), _at("2026-06-01T00:00:00+02:00")
    issued = _at("2026-05-10T00:00:00+02:00")
    slices = entries.recognition_schedule(9_200, start, end, BERLIN, issued)
    assert [s.recognize_at for s in slices] == [issued, end]
    assert slices[0].period_start == start
    assert slices[0].period_end == _at("2026-05-01T00:00:00+02:00")
    assert slices[1].amount == 3_101  # May: 31 days of 92 less the hour DST took
    arrears = entries.recognition_schedule(9_200, start, end, BERLIN, end + timedelta(days=1))
    assert [(s.recognize_at, s.amount) for s in arrears] == [(end + timedelta(days=1), 9_200)]


def test_month_ends_use_local_midnight_across_daylight_saving() -> None:
    start, end = _at("2026-02-15T00:00:00+01:00"), _at("2026-04-15T00:00:00+02:00")
    assert entries.month_ends(start, end, BERLIN) == [
        _at("2026-03-01T00:00:00+01:00"),
        _at("2026-04-01T00:00:00+02:00"),
    ]


def test_an_empty_period_is_recognised_at_its_end() -> None:
    at = _at("2026-04-01T00:00:00Z")
    assert entries.recognition_schedule(5, at, at, KOLKATA, at) == (entries.Slice(at, at, at, 5),)
    assert entries.recognition_schedule(0, at, at + timedelta(days=3), KOLKATA, at) == ()


ZONES = st.sampled_from(
    [ZoneInfo(z) for z in ("Asia/Kolkata", "Europe/Berlin", "America/Santiago", "Pacific/Apia")]
)
INSTANTS = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@given(
    amount=st.integers(min_value=-(10**10), max_value=10**10).filter(bool),
    start=INSTANTS,
    length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=800)),
    issued_after=st.timedeltas(min_value=timedelta(days=-10), max_value=timedelta(days=900)),
    zone=ZONES,
)
def test_slices_add_up_tile_the_period_and_never_precede_the_issue(
    amount: int, start: datetime, length: timedelta, issued_after: timedelta, zone: ZoneInfo
) -> None:
    end, issued = start + length, start + issued_after
    slices = entries.recognition_schedule(amount, start, end, zone, issued)
    assert sum(s.amount for s in slices) == amount
    assert slices[0].period_start == start
    assert slices[-1].period_end == end
    for before, after in pairwise(slices):
        assert before.period_end == after.period_start
        assert before.recognize_at < after.recognize_at
    for piece in slices:
        assert piece.recognize_at == max(piece.period_end, issued)
        # Straight-line: a slice is its share of time, give or take the rounding of two ends.
        if end > start:
            exact = amount * ((piece.period_end - piece.period_start) / (end - start))
            assert abs(piece.amount - exact) <= 1 + abs(amount) * 1e-9
            assert piece.amount * amount >= 0
