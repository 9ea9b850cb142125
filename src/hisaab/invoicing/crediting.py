"""How much value and tax a credit note takes off each invoice line, and where the money goes.

Pure, so that every way of asking for a credit (the whole invoice, a total, chosen lines) can be
table-tested for the two properties an auditor checks: a credit note never takes back more value
or tax than the invoice charged, and it takes tax at the invoice's own rates (CGST Act s. 34:
the credit note corrects that invoice, so a rate change since does not apply).

Tax is found with the same arithmetic as on the invoice (`tax.line_tax`): a credit of chosen line
values is tax-exclusive (tax added at each rate, rounded half up on its own); a credit of a total
is tax-inclusive (rule 35 of the CGST Rules finds the tax in it). Taking back everything that is
left of a line copies what is left instead of recomputing it, so two partial credit notes and a
final one always add up to the invoice to the paisa.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from hisaab.tax import service as tax


class CreditRefused(ValueError):
    """The request asks for more than the invoice has left, or names a line it does not have."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class Component:
    """One tax of a line (its type, rate and jurisdiction) and how much of it is left to credit."""

    type: str
    rate: Decimal
    jurisdiction: str
    amount: int


@dataclass(frozen=True)
class LineValue:
    """Value and taxes of one invoice line: what is left of it to credit, or what one credit
    note takes of it."""

    line_id: str
    taxable: int
    components: tuple[Component, ...]

    @property
    def tax(self) -> int:
        return sum(c.amount for c in self.components)

    @property
    def gross(self) -> int:
        return self.taxable + self.tax


@dataclass(frozen=True)
class Settlement:
    """Where a credit note's total goes: off what is still owed first, then back to the
    customer as credit balance or as a refund of what was paid."""

    to_invoice: int
    to_balance: int
    refunded: int


def whole(lines: Sequence[LineValue]) -> list[LineValue]:
    """Everything that is left of the invoice."""
    if not any(line.gross for line in lines):
        raise CreditRefused("nothing_to_credit", "Credit notes already cover the whole invoice.")
    return [line for line in lines if line.gross]


def of_lines(lines: Sequence[LineValue], asked: Sequence[tuple[str, int]]) -> list[LineValue]:
    """Chosen lines, each by the taxable value to take back (tax is added at the line's rates)."""
    by_id = {line.line_id: line for line in lines}
    seen: set[str] = set()
    credits = []
    for line_id, taxable in asked:
        line = by_id.get(line_id)
        if line is None:
            raise CreditRefused("unknown_invoice_line", f"The invoice has no line {line_id!r}.")
        if line_id in seen:
            raise CreditRefused("duplicate_invoice_line", f"Line {line_id!r} is named twice.")
        seen.add(line_id)
        if taxable <= 0 or taxable > line.taxable:
            raise CreditRefused(
                "amount_too_large" if taxable > 0 else "invalid_amount",
                f"Line {line_id!r} has {line.taxable} left to credit; asked for {taxable}.",
            )
        credits.append(_part(line, taxable, "exclusive"))
    return credits


def of_total(lines: Sequence[LineValue], amount: int) -> list[LineValue]:
    """A total including tax, spread over the lines in proportion to what each has left."""
    left = sum(line.gross for line in lines)
    if amount <= 0:
        raise CreditRefused("invalid_amount", "A credit note amount must be positive.")
    if amount > left:
        raise CreditRefused(
            "amount_too_large", f"The invoice has {left} left to credit; asked for {amount}."
        )
    if amount == left:
        return whole(lines)
    shares = _spread(amount, [line.gross for line in lines])
    return [
        _part(line, share, "inclusive")
        for line, share in zip(lines, shares, strict=True)
        if share > 0
    ]


def settle(total: int, owed: int, refundable: int, *, refund: bool) -> Settlement:
    """What is still owed on the invoice is reduced first: a customer is not refunded money it
    has not paid. The rest goes back as a refund when asked (and paid), else as credit."""
    to_invoice = min(total, owed)
    rest = total - to_invoice
    if not refund:
        return Settlement(to_invoice, rest, 0)
    if rest > refundable:
        raise CreditRefused(
            "refund_exceeds_payments",
            f"Only {refundable} was paid and not yet refunded; {rest} cannot be refunded.",
        )
    return Settlement(to_invoice, 0, rest)


def _part(line: LineValue, amount: int, behavior: str) -> LineValue:
    """`amount` of the line (taxable if exclusive, with tax if inclusive), taxed at its rates."""
    if (behavior == "exclusive" and amount == line.taxable) or (
        behavior == "inclusive" and amount == line.gross
    ):
        return line
    levies = [tax.Levy(c.type, c.rate, c.jurisdiction) for c in line.components]
    found = tax.line_tax(tax.TaxableLine(amount, behavior, None), levies)
    # Rounding of a part never takes more of a tax than the invoice has left of it ...
    amounts = [
        min(part.amount, c.amount)
        for c, part in zip(line.components, found.components, strict=True)
    ]
    if behavior == "inclusive":
        # ... nor more of the value: a paisa that would overdraw the value stays with the tax.
        short = amount - sum(amounts) - line.taxable
        for i, c in enumerate(line.components):
            moved = max(0, min(short, c.amount - amounts[i]))
            amounts[i] += moved
            short -= moved
    taxable = amount if behavior == "exclusive" else amount - sum(amounts)
    components = tuple(
        Component(c.type, c.rate, c.jurisdiction, a)
        for c, a in zip(line.components, amounts, strict=True)
    )
    return LineValue(line.line_id, taxable, components)


def _spread(amount: int, weights: Sequence[int]) -> list[int]:
    """`amount` split in proportion to `weights`, largest remainders first, summing exactly."""
    total = sum(weights)
    floors = [amount * weight // total for weight in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % total), i))
    for i in remainders[: amount - sum(floors)]:
        floors[i] += 1
    return floors
