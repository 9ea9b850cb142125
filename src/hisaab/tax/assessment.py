"""What an invoice asks the tax engine and what it answers (see engine.py for the rules).

Invoicing hands over the parties and each line's taxable amount; the engine answers per line
(the tax lines of each component, rounded on the line) and per invoice (place of supply,
reverse charge, the notes the law wants printed)."""

from __future__ import annotations

from dataclasses import dataclass
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
