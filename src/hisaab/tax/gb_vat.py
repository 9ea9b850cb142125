"""UK VAT on electronically supplied services by a seller with a UK VAT registration (`gb_vat`).

Where the supply takes place (Value Added Tax Act 1994):

- to a business: where the customer belongs (s. 7A(2)(a));
- to a consumer: electronically supplied services are supplied where the consumer belongs
  (Schedule 4A para 15), whoever supplies them.

Who pays, for a customer in the UK:

- a seller established in the UK charges VAT at the standard rate to every UK customer,
  consumer or business alike: a domestic supply;
- a seller established elsewhere (registered in the UK for its sales to UK consumers) charges
  VAT to consumers, but a UK business customer accounts for the VAT itself under the reverse
  charge (s. 8: services from a supplier belonging outside the UK received for business
  purposes), whether or not the supplier is registered. The line keeps a 0% VAT component in GB
  and the invoice says who owes the tax.

A customer outside the UK is outside the scope of UK VAT; a UK-established seller's invoice
says so, a seller established elsewhere has nothing to say about UK VAT to a non-UK customer.
A UK customer is treated as a business when it has a UK VAT number (`vat_id`, GB or XI), the
one evidence of business status the engine can see; a customer without one is billed as a
consumer, the side on which a mistake leaves no VAT unpaid.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from hisaab.tax.assessment import Party, TaxableLine
from hisaab.tax.levies import Levy, Treatment
from hisaab.tax.rates import gb_vat_rate

__all__ = ["NOTE_OUTSIDE_UK", "NOTE_REVERSE_CHARGE", "REGIME", "treat"]

REGIME = "gb_vat"
NOTE_REVERSE_CHARGE = (
    "Reverse charge: the customer accounts for the VAT to HMRC "
    "(section 8, Value Added Tax Act 1994)"
)
NOTE_OUTSIDE_UK = (
    "Outside the scope of UK VAT: place of supply outside the United Kingdom "
    "(section 7A and Schedule 4A, Value Added Tax Act 1994)"
)
_ZERO = Decimal(0)


def treat(
    seller_country: str,
    buyer: Party,
    lines: Sequence[TaxableLine],
    on: date,
) -> Treatment | None:
    """UK VAT of each line for a `gb_vat` seller; None when UK VAT has nothing to say."""
    established = seller_country == "GB"
    if buyer.country != "GB":
        if not established:
            return None
        return Treatment(
            regime=REGIME,
            levies=tuple(() for _ in lines),
            place_of_supply=buyer.country,
            notes=(NOTE_OUTSIDE_UK,),
        )
    if buyer.vat_id and buyer.vat_id.strip().upper()[:2] not in ("GB", "XI"):
        raise ValueError(
            f"VAT number {buyer.vat_id} is not a UK VAT number; the customer rules should have "
            "refused it (vat_country_mismatch)"
        )
    if buyer.vat_id and not established:
        levy = Levy("VAT", _ZERO, "GB")
        return Treatment(
            regime=REGIME,
            levies=tuple((levy,) for _ in lines),
            place_of_supply="GB",
            reverse_charge=True,
            notes=(NOTE_REVERSE_CHARGE,),
        )
    levy = Levy("VAT", gb_vat_rate(on), "GB")
    return Treatment(regime=REGIME, levies=tuple((levy,) for _ in lines), place_of_supply="GB")
