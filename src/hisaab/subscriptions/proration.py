"""Proration of a mid-period plan or quantity change (API.md, Subscriptions, `/change`).

A change at instant `at` credits what is left of the old price and charges what is left of the
new one: with `f` = seconds left in the period ÷ seconds in the period, a credit line of
-round(old * f) and a charge line of +round(new * f), each rounded half up on its own.

The module is pure (no IO, no clock reads) so that the rule can be tested exhaustively and
re-run later to explain an invoice line: the caller supplies the period and the instant, which
it takes from the customer's clock.

Exactness (DESIGN rule 1): `f` is a `fractions.Fraction` of whole seconds, and amount * f is
kept as an exact rational until the single half-up rounding at the line. We use Fraction rather
than Decimal because a Decimal context has finite precision (28 digits by default), so amount * f
could be rounded once by the context and again at the line; integer numerator/denominator
arithmetic cannot. Floats never appear.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from numbers import Rational

__all__ = ["ProrationLines", "change_lines", "prorate", "remaining_fraction"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def _whole_seconds(instant: datetime, name: str) -> int:
    """Seconds since the epoch, floored, computed without float so no instant is misread.

    `datetime.timestamp()` returns a float, which cannot hold every microsecond of a far-away
    date exactly; timedelta floor division is integer arithmetic and floors toward the past
    even before 1970.
    """
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {instant.isoformat()}")
    return (instant - _EPOCH) // _SECOND


def remaining_fraction(period_start: datetime, period_end: datetime, at: datetime) -> Fraction:
    """The share of the period still to come at `at`, exact to the second.

    All three instants are floored to the whole second (truncated toward the past) before
    measuring. Invoices and the API carry timestamps to the second, so flooring makes the
    fraction reproducible from what the customer sees on the invoice line, and a change made
    a few microseconds into a second is not billed differently from one made at its start.
    Flooring rather than rounding to nearest also never moves an instant into a second that has
    not begun yet, and because it is monotone it keeps start <= at <= end true after flooring.

    Timezone-aware instants are required because a naive one has no single position on the
    timeline; any zones may be mixed (the subtraction is done on the absolute timeline, so a
    DST change inside the period counts its real length).
    """
    start = _whole_seconds(period_start, "period_start")
    end = _whole_seconds(period_end, "period_end")
    now = _whole_seconds(at, "at")
    if not period_start < period_end:
        raise ValueError(
            f"period_start {period_start.isoformat()} must be before "
            f"period_end {period_end.isoformat()}"
        )
    if not period_start <= at <= period_end:
        raise ValueError(
            f"at {at.isoformat()} is outside the period "
            f"[{period_start.isoformat()}, {period_end.isoformat()}]"
        )
    if start == end:
        # Both ends fall inside one second: there is no whole second to share out.
        raise ValueError("the period must span at least one whole second")
    return Fraction(end - now, end - start)


def prorate(amount: int, fraction: Fraction) -> int:
    """amount * fraction in whole minor units, rounded once, half up (DESIGN rule 1).

    For a negative amount "half up" is taken as half away from zero, so that
    prorate(-a, f) == -prorate(a, f): a credit is then always the exact mirror of the charge the
    same amount would have produced, and a change followed by its reversal nets to zero.

    Floats and Decimals are refused rather than converted: a float fraction has already lost
    exactness, and accepting it would hide the bug that produced it.
    """
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"amount must be an int of minor units, got {type(amount).__name__}")
    if not isinstance(fraction, Rational):
        raise TypeError(f"fraction must be an exact Fraction, got {type(fraction).__name__}")
    exact = amount * Fraction(fraction)
    magnitude = abs(exact)
    # floor(|x| + 1/2) with x = n/d, in integers: floor((2n + d) / 2d).
    rounded = (2 * magnitude.numerator + magnitude.denominator) // (2 * magnitude.denominator)
    return rounded if exact >= 0 else -rounded


@dataclass(frozen=True)
class ProrationLines:
    """The two invoice lines of one change, kept separate because each is rounded on its own.

    Netting before rounding would give a different (and unexplainable) total; the invoice shows
    both lines, so their rounded amounts are the truth and `net` is derived from them.
    """

    credit: int
    charge: int
    fraction: Fraction

    @property
    def net(self) -> int:
        """What the change costs (positive) or gives back (negative) after per-line rounding."""
        return self.credit + self.charge


def change_lines(
    old_amount: int,
    new_amount: int,
    period_start: datetime,
    period_end: datetime,
    at: datetime,
) -> ProrationLines:
    """Credit the unused rest of the old price and charge the rest of the new one.

    `old_amount` and `new_amount` are full-period prices (plan * quantity) in minor units. They
    must not be negative: a price below zero is a credit in disguise and would flip the sign
    convention of the lines, so it is refused here rather than discovered on an invoice.
    """
    for name, amount in (("old_amount", old_amount), ("new_amount", new_amount)):
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise TypeError(f"{name} must be an int of minor units, got {type(amount).__name__}")
        if amount < 0:
            raise ValueError(f"{name} must not be negative, got {amount}")
    fraction = remaining_fraction(period_start, period_end, at)
    return ProrationLines(
        credit=-prorate(old_amount, fraction),
        charge=prorate(new_amount, fraction),
        fraction=fraction,
    )
