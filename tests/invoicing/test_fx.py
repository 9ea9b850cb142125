"""Rupee values of foreign-currency documents: exponent handling, rounding, totals that add up."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from hisaab.invoicing.fx import inr_values, rate_text, to_inr


@pytest.mark.parametrize(
    ("amount", "currency", "rate", "paise"),
    [
        (2_900, "USD", "83.125", 241_063),  # $29.00 → ₹2,410.625 → half up
        (1, "USD", "83.125", 83),  # 1 cent → 83.125 paise
        (1_000, "JPY", "0.5612", 56_120),  # ¥1,000 (no minor unit) → ₹561.20
        (1_000, "KWD", "270.5", 27_050),  # 1.000 KWD (3 decimals) → ₹270.50
        (5, "KWD", "270.5", 135),  # 0.005 KWD → 135.25 paise
        (-2_900, "USD", "83.125", -241_063),  # a credit mirrors its charge
        (0, "EUR", "90", 0),
    ],
)
def test_to_inr(amount: int, currency: str, rate: str, paise: int) -> None:
    assert to_inr(amount, currency, Decimal(rate)) == paise


@pytest.mark.parametrize(
    ("rate", "text"),
    [("83.125", "83.1250"), ("90", "90.0000"), ("0.561234", "0.561234"), ("83.12500", "83.1250")],
)
def test_rate_text(rate: str, text: str) -> None:
    assert rate_text(Decimal(rate)) == text


def test_inr_values_add_up() -> None:
    values = inr_values(
        "USD",
        Decimal("83.125"),
        date(2026, 1, 1),
        2_900,
        [
            {"type": "CGST", "rate": "9.00", "amount": 261},
            {"type": "SGST", "rate": "9.00", "amount": 261},
        ],
    )
    assert values["tax_lines"] == [
        {"type": "CGST", "rate": "9.00", "amount": 21_696},
        {"type": "SGST", "rate": "9.00", "amount": 21_696},
    ]
    assert values["total"] == values["taxable_amount"] + values["tax"] == 241_063 + 43_392
    assert values["rate_date"] == "2026-01-01"
