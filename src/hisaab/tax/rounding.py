"""Exact tax arithmetic on minor units: one half-up rounding per amount, never a float.

Amounts arrive as integers of the invoice currency's minor unit (paise, cents; DESIGN rule 1),
so "round to the minor unit" is "round to an integer" and no currency exponent is needed here.
Rates are Decimal percentages; `Fraction(Decimal)` is exact, and rational arithmetic has no
precision context that could round a product silently before the one rounding we mean, which
is why this module uses `fractions.Fraction` rather than Decimal (the same reasoning as
`subscriptions/proration.py`, which the tax domain may not import: DESIGN, one domain meets
another only through its service.py).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

__all__ = ["HUNDRED", "percent", "percent_of", "round_half_up"]

HUNDRED = Fraction(100)


def round_half_up(value: Fraction) -> int:
    """The nearest integer, halves rounded away from zero.

    "Half up" on a negative amount is read as half away from zero so that the tax of a credit
    line is always the exact mirror of the tax of the same charge: a credit note that reverses
    a line then reverses its tax to the paisa (CGST Act s. 34 lets a credit note reduce the tax
    charged; it cannot reduce it by a different amount than was charged).
    """
    magnitude = abs(value)
    # floor(|x| + 1/2) with x = n/d, in integers: floor((2n + d) / 2d).
    rounded = (2 * magnitude.numerator + magnitude.denominator) // (2 * magnitude.denominator)
    return rounded if value >= 0 else -rounded


def percent_of(amount: int, rate: Decimal) -> int:
    """`rate` percent of `amount`, rounded once, half up (API.md: each component on its own)."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"amount must be an int of minor units, got {type(amount).__name__}")
    return round_half_up(amount * Fraction(rate) / HUNDRED)


def percent(rate: Decimal) -> Decimal:
    """A rate as the API prints it: at least two decimals ("9.00", "25.50").

    A rate with more places (CGST on a 0.25% supply is 0.125%) keeps them: quantizing it would
    change the tax, and the invoice must show the rate that was applied.
    """
    exponent = rate.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        return rate.quantize(Decimal("0.01"))
    return rate.normalize()
