"""Credit-note arithmetic: tables at the edges, and properties an auditor relies on."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hisaab.invoicing.crediting import (
    Component,
    CreditRefused,
    LineValue,
    Settlement,
    of_lines,
    of_total,
    settle,
    whole,
)

NINE = Decimal("9.00")


def _gst_line(line_id: str, taxable: int, cgst: int | None = None) -> LineValue:
    half = cgst if cgst is not None else (taxable * 9 + 50) // 100
    return LineValue(
        line_id,
        taxable,
        (Component("CGST", NINE, "IN-KA", half), Component("SGST", NINE, "IN-KA", half)),
    )


def _igst_line(line_id: str, taxable: int) -> LineValue:
    return LineValue(
        line_id, taxable, (Component("IGST", Decimal("18.00"), "IN", (taxable * 18 + 50) // 100),)
    )


def _amounts(credits: list[LineValue]) -> list[tuple[str, int, tuple[int, ...]]]:
    return [(c.line_id, c.taxable, tuple(x.amount for x in c.components)) for c in credits]


# --- tables ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        # Rule 35: tax = amount x 9 / 118 per component, rounded half up; value is the rest.
        (118, [("a", 100, (9, 9))]),
        (100_001, [("a", 84_747, (7_627, 7_627))]),
        (1, [("a", 1, (0, 0))]),
        (7, [("a", 5, (1, 1))]),  # 7 x 9 / 118 = 0.53 → 1 each
        (236_000, [("a", 200_000, (18_000, 18_000))]),  # all of it: copied, not recomputed
    ],
)
def test_total_on_one_line(amount: int, expected: list[tuple[str, int, tuple[int, ...]]]) -> None:
    assert _amounts(of_total([_gst_line("a", 200_000)], amount)) == expected


@pytest.mark.parametrize(
    ("taxable", "expected"),
    [
        (50_000, ("a", 50_000, (4_500, 4_500))),
        (1, ("a", 1, (0, 0))),
        (50, ("a", 50, (5, 5))),  # 4.5 → 5 half up
        (200_000, ("a", 200_000, (18_000, 18_000))),
    ],
)
def test_chosen_line_value(taxable: int, expected: tuple[str, int, tuple[int, ...]]) -> None:
    assert _amounts(of_lines([_gst_line("a", 200_000)], [("a", taxable)])) == [expected]


def test_total_spreads_over_lines_in_proportion() -> None:
    lines = [_igst_line("a", 100_000), _igst_line("b", 300_000)]
    credits = of_total(lines, 118_000)
    assert [c.gross for c in credits] == [29_500, 88_500]
    assert sum(c.gross for c in credits) == 118_000


@pytest.mark.parametrize(
    ("asked", "code"),
    [
        ([("z", 1)], "unknown_invoice_line"),
        ([("a", 1), ("a", 1)], "duplicate_invoice_line"),
        ([("a", 200_001)], "amount_too_large"),
        ([("a", 0)], "invalid_amount"),
    ],
)
def test_refused_line_requests(asked: list[tuple[str, int]], code: str) -> None:
    with pytest.raises(CreditRefused) as refused:
        of_lines([_gst_line("a", 200_000)], asked)
    assert refused.value.code == code


def test_refused_totals_and_nothing_left() -> None:
    with pytest.raises(CreditRefused, match="left"):
        of_total([_gst_line("a", 100)], 119)
    with pytest.raises(CreditRefused):
        of_total([_gst_line("a", 100)], 0)
    with pytest.raises(CreditRefused) as refused:
        whole([_gst_line("a", 0, 0)])
    assert refused.value.code == "nothing_to_credit"


@pytest.mark.parametrize(
    ("total", "owed", "refundable", "refund", "expected"),
    [
        (100, 100, 0, False, Settlement(100, 0, 0)),
        (100, 40, 60, False, Settlement(40, 60, 0)),
        (100, 40, 60, True, Settlement(40, 0, 60)),
        (100, 0, 100, True, Settlement(0, 0, 100)),
        (100, 0, 0, False, Settlement(0, 100, 0)),
        (100, 100, 0, True, Settlement(100, 0, 0)),
    ],
)
def test_settlement_order(
    total: int, owed: int, refundable: int, refund: bool, expected: Settlement
) -> None:
    assert settle(total, owed, refundable, refund=refund) == expected


def test_refund_beyond_payments_is_refused() -> None:
    with pytest.raises(CreditRefused) as refused:
        settle(100, 0, 99, refund=True)
    assert refused.value.code == "refund_exceeds_payments"


# --- properties ------------------------------------------------------------------------------


def _left(line: LineValue, taken: list[LineValue]) -> LineValue:
    mine = [c for c in taken if c.line_id == line.line_id]
    return LineValue(
        line.line_id,
        line.taxable - sum(c.taxable for c in mine),
        tuple(
            Component(
                comp.type,
                comp.rate,
                comp.jurisdiction,
                comp.amount - sum(c.components[i].amount for c in mine),
            )
            for i, comp in enumerate(line.components)
        ),
    )


line_values = st.lists(st.integers(min_value=1, max_value=10_000_000), min_size=1, max_size=5)


@given(values=line_values, parts=st.lists(st.integers(1, 1_000), min_size=1, max_size=6))
def test_partial_totals_then_the_rest_add_up_to_the_invoice(
    values: list[int], parts: list[int]
) -> None:
    """Any run of partial credit notes, then one for the rest, gives back exactly the invoice:
    value and each tax, to the paisa, and never more than is left at any step."""
    original = [_gst_line(f"l{i}", v) for i, v in enumerate(values)]
    taken: list[LineValue] = []
    for part in parts:
        left = [_left(line, taken) for line in original]
        room = sum(line.gross for line in left)
        if room == 0:
            break
        amount = max(1, room * part // 2_000)
        credits = of_total(left, amount)
        assert sum(c.gross for c in credits) == amount
        for credit in credits:
            line = next(x for x in left if x.line_id == credit.line_id)
            assert 0 <= credit.taxable <= line.taxable
            for got, have in zip(credit.components, line.components, strict=True):
                assert 0 <= got.amount <= have.amount
        taken += credits
    left = [_left(line, taken) for line in original]
    if any(line.gross for line in left):
        taken += whole(left)
    for line in original:
        mine = [c for c in taken if c.line_id == line.line_id]
        assert sum(c.taxable for c in mine) == line.taxable
        for i, comp in enumerate(line.components):
            assert sum(c.components[i].amount for c in mine) == comp.amount


@given(value=st.integers(1, 10_000_000), taxable=st.integers(1, 10_000_000))
def test_line_value_credit_taxes_like_an_invoice(value: int, taxable: int) -> None:
    """Crediting a line's value taxes it exactly as invoicing that value would (same rounding)."""
    line = _gst_line("a", max(value, taxable))
    credit = of_lines([line], [("a", taxable)])[0]
    expected_half = (taxable * 9 + 50) // 100
    assert credit.taxable == taxable
    assert [c.amount for c in credit.components] == [expected_half, expected_half]
