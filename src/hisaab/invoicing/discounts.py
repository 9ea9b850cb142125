"""How a coupon reduces an invoice, line by line, pure.

The discount is recorded on each line (`discount_amount`) rather than as a negative line of its
own: tax is computed on each line's taxable value (amount - discount), which a separate discount
line would leave nowhere to subtract from.

- Percent off applies to every eligible line, credits included, each rounded half up on its own:
  the credit for unused time was paid at the discounted price, so it is returned at that price.
- Amount off applies once per period invoice, spread over the eligible positive lines in
  proportion to their amounts (largest remainder, so the parts add up exactly), and never
  exceeds what those lines charge.

A line is eligible while the coupon lasts: when its period starts before the discount ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from hisaab.subscriptions.proration import prorate


@dataclass(frozen=True)
class Discount:
    percent_off: Decimal | None
    amount_off: int | None
    # Lines of periods starting at or after this instant are not discounted; None: forever.
    ends_at: datetime | None

    def covers(self, period_start: datetime) -> bool:
        return self.ends_at is None or period_start < self.ends_at


@dataclass(frozen=True)
class DiscountableLine:
    amount: int
    period_start: datetime


def line_discounts(
    discount: Discount | None, lines: Sequence[DiscountableLine], *, amount_off_applies: bool
) -> list[int]:
    """The discount of each line, as a positive number for a charge (negative for a credit)."""
    if discount is None:
        return [0] * len(lines)
    eligible = [discount.covers(line.period_start) for line in lines]
    if discount.percent_off is not None:
        share = Fraction(discount.percent_off) / 100
        return [
            prorate(line.amount, share) if ok else 0
            for line, ok in zip(lines, eligible, strict=True)
        ]
    if discount.amount_off is None or not amount_off_applies:
        return [0] * len(lines)
    weights = [
        line.amount if ok and line.amount > 0 else 0
        for line, ok in zip(lines, eligible, strict=True)
    ]
    return allocate(min(discount.amount_off, sum(weights)), weights)


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` in proportion to non-negative `weights`, exactly (largest remainder).

    Ties in the remainder go to the earlier line, so the split is deterministic.
    """
    whole = sum(weights)
    if whole == 0 or total == 0:
        return [0] * len(weights)
    shares = [total * w // whole for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in remainders[: total - sum(shares)]:
        shares[i] += 1
    return shares
