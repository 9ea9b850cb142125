"""The seam between invoices and tax: what an invoice asks, what the tax engine answers.

Invoicing hands over the parties and each line's taxable amount; the engine answers per line
(the tax lines of each component, rounded on the line) and per invoice (place of supply,
reverse charge, the notes the law wants printed). No regime is implemented yet: until the
GST/VAT engine lands (issue 4) the answer is "no tax" for every supply, stated as such rather
than computed, so nothing downstream pretends a rate was applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class Party:
    country: str
    state: str | None
    gstin: str | None
    vat_id: str | None
    sez: bool = False


@dataclass(frozen=True)
class TaxableLine:
    """One line after discount: `amount` is exclusive or inclusive of tax per `tax_behavior`."""

    amount: int
    tax_behavior: str
    sac_code: str | None


@dataclass(frozen=True)
class TaxComponent:
    type: str
    rate: Decimal
    jurisdiction: str
    taxable_amount: int
    amount: int


@dataclass(frozen=True)
class LineTax:
    taxable_amount: int
    tax: int
    components: tuple[TaxComponent, ...]


@dataclass(frozen=True)
class Assessment:
    lines: tuple[LineTax, ...]
    place_of_supply: str | None
    reverse_charge: bool
    notes: tuple[str, ...]


def assess(
    # The seam's full signature: the regimes (issue 4) read every argument.
    seller: Party,  # noqa: ARG001
    buyer: Party,  # noqa: ARG001
    currency: str,  # noqa: ARG001
    lines: Sequence[TaxableLine],
    on: date,  # noqa: ARG001
) -> Assessment:
    """Tax of an invoice issued on `on`: none yet, for any supply (see the module docstring)."""
    return Assessment(
        lines=tuple(LineTax(taxable_amount=line.amount, tax=0, components=()) for line in lines),
        place_of_supply=None,
        reverse_charge=False,
        notes=(),
    )
