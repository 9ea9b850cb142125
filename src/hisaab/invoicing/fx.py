"""Rupee values of a foreign-currency document, pure.

An Indian supplier invoicing in dollars still owes GST and reports the supply in rupees: rule 34
of the CGST Rules converts the value at the reference rate of the date of supply, and GSTR-1 wants
the taxable value and each tax in INR. The invoice therefore records the rate it used and the
converted figures, so returns are filed from the document, not from a rate looked up again later.
Each figure is converted and rounded half up on its own; the total is their sum, so the rupee
figures add up on the page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from hisaab.core.money import Money

INR = "INR"


def to_inr(amount: int, currency: str, rate_to_inr: Decimal) -> int:
    """`amount` minor units of `currency` in paise at `rate_to_inr` rupees per unit."""
    return Money.from_decimal(Money(amount, currency).to_decimal() * rate_to_inr, INR).amount


def rate_text(rate_to_inr: Decimal) -> str:
    """At least four decimals, as RBI publishes reference rates ("83.1250")."""
    quantized = rate_to_inr.normalize()
    places = max(4, -int(quantized.as_tuple().exponent))
    return f"{rate_to_inr:.{places}f}"


def inr_values(
    currency: str,
    rate_to_inr: Decimal,
    rate_date: date,
    taxable: int,
    tax_lines: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    converted = [
        {
            "type": line["type"],
            "rate": line["rate"],
            "amount": to_inr(line["amount"], currency, rate_to_inr),
        }
        for line in tax_lines
    ]
    taxable_inr = to_inr(taxable, currency, rate_to_inr)
    tax_inr = sum(line["amount"] for line in converted)
    return {
        "currency": INR,
        "rate": rate_text(rate_to_inr),
        "rate_date": rate_date.isoformat(),
        "taxable_amount": taxable_inr,
        "tax_lines": converted,
        "tax": tax_inr,
        "total": taxable_inr + tax_inr,
    }
