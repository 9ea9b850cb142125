"""What a regime decides (which taxes at which rates) and the arithmetic that turns it into money.

The regimes (`in_gst`, `eu_vat`, `gb_vat`) only decide: for each line, the taxes it bears and at
what rate, plus the invoice-level facts (place of supply, reverse charge, the wording the law
wants printed). The amounts are computed here, once, the same way for every regime, so that the
rounding rule of API.md ("each tax component is computed on the line's taxable value and rounded
half up on its own") cannot drift between regimes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from hisaab.tax.assessment import LineTax, TaxableLine, TaxComponent
from hisaab.tax.rounding import HUNDRED, percent, percent_of, round_half_up

__all__ = ["TAX_BEHAVIORS", "Levy", "Treatment", "line_tax"]

TAX_BEHAVIORS = ("exclusive", "inclusive")


@dataclass(frozen=True)
class Levy:
    """One tax on one line, before amounts (`type` CGST|SGST|UTGST|IGST|VAT, `rate` percent).

    Regimes answer with rates, not amounts, so that the amount of every tax, under every law, is
    rounded by the one rule in `line_tax`.
    """

    type: str
    rate: Decimal
    jurisdiction: str


@dataclass(frozen=True)
class Treatment:
    """One regime's decision for an invoice: the levies of each line, in the order of the lines.

    One per regime because one supply can be taxed by two laws at once (an Indian export that
    is also an EU OSS supply); the engine adds the regimes' levies line by line.
    """

    regime: str
    levies: tuple[tuple[Levy, ...], ...]
    place_of_supply: str | None
    reverse_charge: bool = False
    notes: tuple[str, ...] = ()


def line_tax(line: TaxableLine, levies: Sequence[Levy]) -> LineTax:
    """The tax of one line under every levy that applies to it, rounded on the line.

    Exclusive: the amount is the taxable value (CGST Act s. 15(1); Directive 2006/112/EC
    art. 73: the consideration, tax excluded) and each levy is `rate`% of it, rounded half up on
    its own, so two levies at the same rate (CGST and SGST) are always equal.

    Inclusive: the amount already contains the tax. Rule 35 of the CGST Rules fixes how the tax
    is found in it, per tax: "tax amount = (value inclusive of taxes X tax rate in % of IGST or,
    as the case may be, CGST, SGST or UTGST) / (100 + sum of tax rates, as applicable, in %)";
    HMRC's "VAT fraction" (VAT Notice 700: the VAT in a price including 20% VAT is 1/6 of it)
    is the same rule. So each levy's amount is computed from the inclusive amount, rounded half
    up on its own, and the taxable value is what remains: taxable + tax == amount to the minor
    unit, and CGST == SGST always, because both are the same rounding of the same number.

    How this relates to "taxable = round_half_up(amount / (1 + rate)), tax = amount - taxable":
    the two agree except (a) when the exact tax falls on a half minor unit, where the law's
    formula rounds the tax (not the taxable value) up, and (b) when that formula would leave an
    odd number of paise to halve between CGST and SGST: rounding each half on its own moves the
    odd paisa into (or out of) the taxable value instead, so the taxable value is then one paisa
    from round(amount / (1 + rate)) and each half is the correctly rounded half of the exact tax.
    """
    if line.tax_behavior not in TAX_BEHAVIORS:
        raise ValueError(
            f"tax_behavior must be one of {', '.join(TAX_BEHAVIORS)}, got {line.tax_behavior!r}"
        )
    if isinstance(line.amount, bool) or not isinstance(line.amount, int):
        raise TypeError(f"amount must be an int of minor units, got {type(line.amount).__name__}")
    if line.tax_behavior == "exclusive":
        taxable = line.amount
        amounts = [percent_of(taxable, levy.rate) for levy in levies]
    else:
        divisor = HUNDRED + sum((Fraction(levy.rate) for levy in levies), Fraction(0))
        amounts = [round_half_up(line.amount * Fraction(levy.rate) / divisor) for levy in levies]
        taxable = line.amount - sum(amounts)
    components = tuple(
        TaxComponent(
            type=levy.type,
            rate=percent(levy.rate),
            jurisdiction=levy.jurisdiction,
            taxable_amount=taxable,
            amount=amount,
        )
        for levy, amount in zip(levies, amounts, strict=True)
    )
    return LineTax(taxable_amount=taxable, tax=sum(amounts), components=components)
