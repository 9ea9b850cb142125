"""EU VAT on electronically supplied services (a SaaS subscription) by a seller registered for it.

Two registrations reach EU customers (`identity.REGISTRATION_SCHEMES`):

- `eu_vat`: the seller is established in an EU member state (its VAT number is of that state)
  and declares supplies to consumers of other member states through the Union OSS
  (Directive 2006/112/EC art. 369a-369k);
- `eu_oss`: the seller is established outside the EU and declares supplies to EU consumers
  through the non-Union OSS (art. 358a-369).

Who pays what, by the customer:

- a consumer (no VAT number) in any member state: the place of supply of electronically
  supplied services to a non-taxable person is where that person lives (art. 58, point (c)),
  so VAT at the standard rate of the consumer's member state, charged by the seller. This
  assumes an EU-established seller is past the EUR 10,000 threshold of art. 59c or has opted
  out of it, the usual reason to be on the OSS; below it, without that option, the seller's
  own rate would apply to consumers of other member states;
- a business with a VAT number of another member state than the seller's (or any member state,
  for a seller established outside the EU): the place of supply is the customer's establishment
  (art. 44) and the customer owes the VAT (art. 196, reverse charge). The invoice charges none,
  must say "Reverse charge" (art. 226(11a)) and carries the customer's VAT number (art. 226(4));
  the line keeps a 0% VAT component in the customer's member state so the value reaches the
  recapitulative statement (art. 262) without being recomputed;
- a business in the seller's own member state: art. 44 puts the supply there, the seller is
  the person liable (art. 193), so domestic VAT at that state's rate, as for a consumer;
- a customer outside the EU: the place of supply is outside the EU (art. 44 for a business,
  art. 58 for a consumer), so no EU VAT. An EU-established seller's invoice says why it
  charges none; a seller established outside the EU has nothing to say to a non-EU customer
  about EU VAT.

"A VAT number" is the customer's `vat_id`, which the customer rules have checked for format,
checksum and country; confirming it in VIES before invoicing is the caller's concern (art. 18
of Implementing Regulation 282/2011 lets a supplier treat a customer as a business on a valid
number). Every line is treated as an electronically supplied service at the standard rate: the
SaaS case Hisaab bills, and reduced rates for e-books (art. 98(2), Annex III (6)) are not modelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from hisaab.tax.assessment import Party, TaxableLine
from hisaab.tax.identity import EU_MEMBER_STATES
from hisaab.tax.levies import Levy, Treatment
from hisaab.tax.rates import eu_vat_rate

__all__ = [
    "NOTE_OUTSIDE_EU",
    "NOTE_REVERSE_CHARGE",
    "REGIME",
    "SCHEMES",
    "treat",
    "vat_number_country",
]

REGIME = "eu_vat"
SCHEMES = ("eu_vat", "eu_oss")
NOTE_REVERSE_CHARGE = (
    "Reverse charge: VAT to be accounted for by the recipient "
    "(Article 196, Council Directive 2006/112/EC)"
)
NOTE_OUTSIDE_EU = (
    "Not subject to EU VAT: place of supply outside the European Union "
    "(Articles 44 and 58, Council Directive 2006/112/EC)"
)
_ZERO = Decimal(0)


def vat_number_country(number: str) -> str:
    """The ISO country of a VAT number: its prefix, except Greece's EL and Northern Ireland's XI."""
    prefix = number.strip().upper()[:2]
    return {"EL": "GR", "XI": "GB"}.get(prefix, prefix)


def treat(
    scheme: str,
    seller_country: str,
    buyer: Party,
    lines: Sequence[TaxableLine],
    on: date,
) -> Treatment | None:
    """EU VAT of each line for a seller registered under `scheme`; None when EU VAT has nothing
    to say about this supply (a seller established outside the EU, a customer outside it)."""
    if scheme not in SCHEMES:
        raise ValueError(f"{scheme!r} is not an EU VAT scheme ({', '.join(SCHEMES)})")
    established = seller_country in EU_MEMBER_STATES
    if established != (scheme == "eu_vat"):
        raise ValueError(
            f"a seller in {seller_country} cannot be registered under {scheme}: eu_vat is for "
            "sellers established in a member state, eu_oss for those outside the EU"
        )
    if buyer.country not in EU_MEMBER_STATES:
        if not established:
            return None
        return Treatment(
            regime=REGIME,
            levies=tuple(() for _ in lines),
            place_of_supply=buyer.country,
            notes=(NOTE_OUTSIDE_EU,),
        )
    if buyer.vat_id and vat_number_country(buyer.vat_id) != buyer.country:
        raise ValueError(
            f"VAT number {buyer.vat_id} is not of the customer's country {buyer.country}; "
            "the customer rules should have refused it (vat_country_mismatch)"
        )
    if buyer.vat_id and buyer.country != seller_country:
        levy = Levy("VAT", _ZERO, buyer.country)
        return Treatment(
            regime=REGIME,
            levies=tuple((levy,) for _ in lines),
            place_of_supply=buyer.country,
            reverse_charge=True,
            notes=(NOTE_REVERSE_CHARGE,),
        )
    levy = Levy("VAT", eu_vat_rate(buyer.country, on), buyer.country)
    return Treatment(
        regime=REGIME,
        levies=tuple((levy,) for _ in lines),
        place_of_supply=buyer.country,
    )
