"""The tax engine: every regime the seller is registered under, applied to one invoice.

A seller owes tax only where it is registered (API.md: "country where the tenant has no
registration → no tax"), so the engine asks each registration's regime in turn and adds up what
they decide, line by line:

- `in_gst` (a GSTIN): India GST, `in_gst.py`. It has something to say about every supply of an
  Indian supplier, including exports (zero-rated, with the rule 46 endorsement);
- `eu_vat` or `eu_oss`: EU VAT, `eu_vat.py`, for customers in the EU (and the out-of-scope note
  of an EU-established seller for customers outside it);
- `gb_vat`: UK VAT, `gb_vat.py`, for customers in the UK (and the out-of-scope note of a
  UK-established seller for customers outside it).

Regimes are independent because their laws are: an Indian supplier with a non-Union OSS
registration selling to a German consumer makes an export of services under the IGST Act
(zero-rated: IGST 0% under LUT with the LUT endorsement, or IGST at 18% refundable without) and,
at the same time, a supply taxable in Germany under art. 58 of the VAT Directive that it must
declare through OSS. The line then carries both components, each computed on the same taxable
value. Whether each tax should include the other in its base (CGST Act s. 15(2)(a) adds taxes
"other than" GST charged by the supplier; Directive art. 78(a) adds taxes other than VAT) is the
one judgement this simplifies: the two are computed side by side, on the price net of both.
With a LUT, the usual case for exporters, the IGST is 0 and the question does not arise.

Invoice-level facts: the place of supply is the first regime's that names one, Indian GST first
because rule 46 of the CGST Rules requires its state-code form on the invoice of an Indian
supplier (`"29-Karnataka"`, `"96-Foreign Country"`); the VAT regimes name the customer's ISO
country (`"DE"`). `reverse_charge` is true when any regime moves the tax to the customer, and
the notes of all regimes are printed, Indian first, in order, once each.

Inputs the caller should already have refused (an Indian customer with neither GSTIN nor state,
a LUT without a GSTIN, two registrations under one scheme, an unknown scheme) raise ValueError:
guessing a tax treatment would put a wrong invoice in front of a tax authority.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from hisaab.tax import eu_vat, gb_vat, in_gst
from hisaab.tax.assessment import Assessment, Party, TaxableLine
from hisaab.tax.identity import REGISTRATION_SCHEMES
from hisaab.tax.levies import Levy, Treatment, line_tax

__all__ = ["decide", "registrations"]


def _check_code(value: str, length: int, what: str) -> None:
    if len(value) != length or not value.isascii() or not value.isalpha() or not value.isupper():
        raise ValueError(f"{what} must be {length} upper-case letters, got {value!r}")


def registrations(seller: Party, seller_registrations: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The seller's registrations by scheme, its GSTIN included as `in_gst`.

    The tenant profile stores the GSTIN both as `gstin` and as an `in_gst` registration; either
    is enough here, and two that disagree are refused rather than one of them silently used.
    """
    schemes: dict[str, str] = {}
    for scheme, number in seller_registrations:
        if scheme not in REGISTRATION_SCHEMES:
            raise ValueError(
                f"unknown tax scheme {scheme!r} (known: {', '.join(REGISTRATION_SCHEMES)})"
            )
        if scheme in schemes:
            raise ValueError(f"two {scheme} registrations")
        schemes[scheme] = number.strip().upper()
    if seller.gstin:
        gstin = seller.gstin.strip().upper()
        if schemes.setdefault("in_gst", gstin) != gstin:
            raise ValueError(
                f"the seller's GSTIN {gstin} is not its in_gst registration {schemes['in_gst']}"
            )
    if "eu_vat" in schemes and "eu_oss" in schemes:
        raise ValueError("eu_vat and eu_oss exclude each other: a seller is in the EU or not")
    if "eu_vat" in schemes and eu_vat.vat_number_country(schemes["eu_vat"]) != seller.country:
        raise ValueError(
            f"eu_vat registration {schemes['eu_vat']} is not of the seller's member state "
            f"{seller.country}: it must be the VAT number of the state of establishment"
        )
    return schemes


def decide(
    seller: Party,
    buyer: Party,
    currency: str,
    lines: Sequence[TaxableLine],
    on: date,
    *,
    seller_lut: bool,
    seller_registrations: Sequence[tuple[str, str]],
) -> Assessment:
    """The tax of an invoice from `seller` to `buyer` issued on `on` (see the module docstring).

    `lines` are after discount, each `exclusive` or `inclusive` of tax, in minor units of
    `currency`; every rounding is to that minor unit, which the amounts already count in, so the
    currency itself does not change the arithmetic (a GST tenant's INR values for a foreign
    currency invoice are the invoicing domain's conversion of the result). `on` is the invoice
    date in the tenant's timezone: the date whose rates apply (rates.py).
    """
    _check_code(currency, 3, "currency")
    _check_code(seller.country, 2, "the seller's country")
    _check_code(buyer.country, 2, "the buyer's country")
    schemes = registrations(seller, seller_registrations)
    if seller_lut and "in_gst" not in schemes:
        raise ValueError("a Letter of Undertaking is furnished under a GSTIN; the seller has none")

    found: list[Treatment | None] = []
    if "in_gst" in schemes:
        found.append(in_gst.treat(schemes["in_gst"], buyer, lines, on, lut=seller_lut))
    for scheme in eu_vat.SCHEMES:
        if scheme in schemes:
            found.append(eu_vat.treat(scheme, seller.country, buyer, lines, on))
    if "gb_vat" in schemes:
        found.append(gb_vat.treat(seller.country, buyer, lines, on))
    treatments = [t for t in found if t is not None]

    per_line: list[list[Levy]] = [[] for _ in lines]
    for treatment in treatments:
        if len(treatment.levies) != len(lines):  # a regime bug, not an input error
            raise AssertionError(f"{treatment.regime} answered for the wrong number of lines")
        for levies, more in zip(per_line, treatment.levies, strict=True):
            levies.extend(more)
    notes: list[str] = []
    for note in (note for treatment in treatments for note in treatment.notes):
        if note not in notes:
            notes.append(note)
    return Assessment(
        lines=tuple(line_tax(line, levies) for line, levies in zip(lines, per_line, strict=True)),
        place_of_supply=next(
            (t.place_of_supply for t in treatments if t.place_of_supply is not None), None
        ),
        reverse_charge=any(t.reverse_charge for t in treatments),
        notes=tuple(notes),
    )
