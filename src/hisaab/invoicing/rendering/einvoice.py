"""An invoice as India's e-invoice (form GST INV-01, NIC schema version 1.1), pure.

The JSON is what a tenant (or its GSP) uploads to the Invoice Registration Portal to get an IRN;
Hisaab does not talk to the IRP. The IRP refuses a document that breaks its schema, so what
cannot be filled truthfully is refused here, with the reason, instead of being guessed:

- e-invoicing covers supplies to registered persons (B2B), SEZ units and exports: a supplier
  without a GSTIN, or a supply to an Indian consumer (B2C), has no e-invoice
  (`einvoice_not_applicable`);
- addresses are mandatory on both sides (Addr1, Loc, a 6-digit Pin) except the buyer of an
  export, whose Pin and state are 999999 and 96 ("Other Country") by the schema's convention
  (`einvoice_incomplete`, naming each missing field);
- the schema has no negative values: an invoice with a credit line (a proration credit) cannot
  be reported as it is; corrections are reported as credit notes (`einvoice_negative_line`);
- amounts are rupees. A foreign-currency invoice is reported with its recorded INR values
  (`inr_values`): each line converted at the invoice's rate, the last line absorbing the paise
  by which line-by-line rounding differs from the invoice's own converted totals, so the items
  add up to ValDtls and ValDtls to what GSTR-1 reports.

Supply types (TranDtls.SupTyp): B2B; SEZWP/SEZWOP for an SEZ unit with/without payment of IGST
(LUT); EXPWP/EXPWOP for an export. "With payment" is read from the IGST rate actually charged.
UTGST is reported as SgstAmt (the schema's field for SGST/UTGST). Taxes outside GST (an EU VAT
charged by a seller also registered for OSS) go to OthChrg so TotItemVal still adds up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from hisaab.core.money import Money
from hisaab.invoicing import fx
from hisaab.invoicing.rendering.document import Reference, Seller
from hisaab.invoicing.schemas import InvoiceLineOut, InvoiceOut

__all__ = ["SCHEMA_VERSION", "EinvoiceRefused", "build"]

SCHEMA_VERSION = "1.1"
_GST = frozenset({"CGST", "SGST", "UTGST", "IGST"})
_PIN = re.compile(r"^[1-9][0-9]{5}$")
_EXPORT_STATE = "96"  # the schema's state code for "Other Country"
_EXPORT_PIN = 999999
_CENT = Decimal("0.01")


@dataclass
class EinvoiceRefused(Exception):
    """Why this document has no e-invoice; `code` is the API's stable problem code."""

    code: str
    detail: str


def _rupees(paise: int) -> Decimal:
    return Money(paise, "INR").to_decimal()


def _state_code(gstin: str) -> str:
    return gstin[:2]


def _address(
    side: str, address: Mapping[str, Any] | None, missing: list[str], *, export: bool = False
) -> dict[str, Any]:
    address = address or {}
    line1 = str(address.get("line1") or "").strip()
    city = str(address.get("city") or "").strip()
    postal = str(address.get("postal_code") or "").replace(" ", "")
    if not line1:
        missing.append(f"{side} address.line1")
    if len(city) < 3:
        missing.append(f"{side} address.city")
    out: dict[str, Any] = {"Addr1": line1[:100]}
    if address.get("line2"):
        out["Addr2"] = str(address["line2"])[:100]
    out["Loc"] = city[:50]
    if export:
        out["Pin"] = _EXPORT_PIN
    elif _PIN.match(postal):
        out["Pin"] = int(postal)
    else:
        missing.append(f"{side} address.postal_code (a 6-digit PIN)")
    return out


def _has_vat(invoice: InvoiceOut) -> bool:
    return any(t.type not in _GST for t in invoice.tax_lines)


def _supply_type(invoice: InvoiceOut, customer: Mapping[str, Any]) -> str:
    paid = any(t.type == "IGST" and Decimal(t.rate) > 0 for t in invoice.tax_lines)
    if str(customer.get("country") or "").upper() != "IN":
        return "EXPWP" if paid else "EXPWOP"
    if customer.get("sez"):
        return "SEZWP" if paid else "SEZWOP"
    return "B2B"


@dataclass
class _Item:
    """One line's figures in paise, before they become rupee decimals."""

    line: InvoiceLineOut
    unit: int
    discount: int
    assessable: int
    taxes: dict[str, int]
    rate: Decimal


def _items(invoice: InvoiceOut) -> list[_Item]:
    items = []
    for line in invoice.lines:
        taxes = {"IGST": 0, "CGST": 0, "SGST": 0, "OTHER": 0}
        rate = Decimal(0)
        for t in line.tax_lines:
            if t.type in _GST:
                taxes["SGST" if t.type == "UTGST" else t.type] += t.amount
                rate += Decimal(t.rate)
            else:
                taxes["OTHER"] += t.amount
        assessable = (
            line.tax_lines[0].taxable_amount
            if line.tax_lines
            else line.amount - line.discount_amount
        )
        items.append(_Item(line, line.unit_amount, line.discount_amount, assessable, taxes, rate))
    return items


def _convert(items: list[_Item], invoice: InvoiceOut) -> None:
    """Foreign-currency lines into paise at the invoice's rate (see the module docstring)."""
    values = invoice.inr_values
    assert values is not None
    rate = Decimal(values.rate)

    def inr(amount: int) -> int:
        return fx.to_inr(amount, invoice.currency, rate)

    for item in items:
        item.unit = inr(item.unit)
        item.discount = inr(item.discount)
        item.assessable = inr(item.assessable)
        item.taxes = {k: inr(v) for k, v in item.taxes.items()}
    if not items:
        return
    last = items[-1]
    last.assessable += values.taxable_amount - sum(i.assessable for i in items)
    wanted = {"IGST": 0, "CGST": 0, "SGST": 0, "OTHER": 0}
    for t in values.tax_lines:
        key = t.type if t.type in ("IGST", "CGST") else "SGST" if t.type in _GST else "OTHER"
        wanted[key] += t.amount
    for key, amount in wanted.items():
        last.taxes[key] += amount - sum(i.taxes[key] for i in items)


def _check_applicable(invoice: InvoiceOut, seller: Seller) -> None:
    customer = invoice.customer
    if seller.gstin is None:
        raise EinvoiceRefused(
            "einvoice_not_applicable", "Only a supplier with a GSTIN issues e-invoices."
        )
    if not _export(customer) and not customer.get("gstin"):
        raise EinvoiceRefused(
            "einvoice_not_applicable",
            "E-invoices are for supplies to registered persons (B2B), SEZ units and exports; "
            "this customer has no GSTIN (B2C).",
        )
    if invoice.number is None or invoice.issued_at is None:
        raise EinvoiceRefused("invalid_state", "A draft has no number yet.")
    if invoice.currency.upper() != "INR" and invoice.inr_values is None:
        raise EinvoiceRefused(
            "einvoice_incomplete",
            f"The e-invoice is in rupees and this {invoice.currency} invoice recorded no "
            "exchange rate.",
        )
    for position, line in enumerate(invoice.lines, start=1):
        if line.amount < 0 or line.discount_amount < 0:
            raise EinvoiceRefused(
                "einvoice_negative_line",
                f"Line {position} is negative, which the e-invoice schema does not allow; "
                "report credits with a credit note.",
            )


def _export(customer: Mapping[str, Any]) -> bool:
    return str(customer.get("country") or "").upper() != "IN"


def _parties(invoice: InvoiceOut, seller: Seller) -> tuple[dict[str, Any], dict[str, Any]]:
    """SellerDtls and BuyerDtls, or EinvoiceRefused naming every field the IRP would miss."""
    assert seller.gstin is not None
    customer = invoice.customer
    export = _export(customer)
    missing: list[str] = []
    seller_address = _address("seller", seller.address, missing)
    address = customer.get("address")
    buyer_address = _address(
        "customer", address if isinstance(address, Mapping) else None, missing, export=export
    )
    if len(seller.name.strip()) < 3:
        missing.append("seller name (3 characters or more)")
    if len(str(customer.get("name") or "").strip()) < 3:
        missing.append("customer name (3 characters or more)")
    without_sac = [str(i) for i, line in enumerate(invoice.lines, 1) if not line.sac_code]
    if without_sac:
        missing.append(f"SAC of line {', '.join(without_sac)}")
    if missing:
        raise EinvoiceRefused(
            "einvoice_incomplete", "The e-invoice needs: " + "; ".join(missing) + "."
        )
    seller_details = {
        "Gstin": seller.gstin,
        "LglNm": seller.name[:100],
        **seller_address,
        "Stcd": _state_code(seller.gstin),
        **({"Em": seller.email} if seller.email else {}),
    }
    buyer_gstin = str(customer.get("gstin") or "")
    place = (invoice.place_of_supply or "")[:2]
    buyer_details = {
        "Gstin": "URP" if export else buyer_gstin,
        "LglNm": str(customer.get("name"))[:100],
        "Pos": _EXPORT_STATE if export or not place.isdigit() else place,
        **buyer_address,
        "Stcd": _EXPORT_STATE if export else _state_code(buyer_gstin),
        **({"Em": customer["email"]} if customer.get("email") else {}),
    }
    return seller_details, buyer_details


def _item_json(position: int, item: _Item) -> dict[str, Any]:
    line = item.line
    gross = item.assessable + item.discount
    taxes = item.taxes
    return {
        "SlNo": str(position),
        "PrdDesc": line.description[:300],
        "IsServc": "Y",
        "HsnCd": line.sac_code,
        "Qty": line.quantity,
        "Unit": "OTH",
        "UnitPrice": (Decimal(gross) / 100 / line.quantity).quantize(Decimal("0.001")),
        "TotAmt": _rupees(gross),
        "Discount": _rupees(item.discount),
        "AssAmt": _rupees(item.assessable),
        "GstRt": int(item.rate) if item.rate == int(item.rate) else item.rate,
        "IgstAmt": _rupees(taxes["IGST"]),
        "CgstAmt": _rupees(taxes["CGST"]),
        "SgstAmt": _rupees(taxes["SGST"]),
        "CesRt": 0,
        "CesAmt": _rupees(0),
        "OthChrg": _rupees(taxes["OTHER"]),
        "TotItemVal": _rupees(item.assessable + sum(taxes.values())),
    }


def _values(items: list[_Item], invoice: InvoiceOut) -> dict[str, Any]:
    def total_of(key: str) -> int:
        return sum(i.taxes[key] for i in items)

    assessable = sum(i.assessable for i in items)
    grand = assessable + sum(total_of(k) for k in ("IGST", "CGST", "SGST", "OTHER"))
    values: dict[str, Any] = {
        "AssVal": _rupees(assessable),
        "CgstVal": _rupees(total_of("CGST")),
        "SgstVal": _rupees(total_of("SGST")),
        "IgstVal": _rupees(total_of("IGST")),
        "CesVal": _rupees(0),
        "StCesVal": _rupees(0),
        "Discount": _rupees(0),
        "OthChrg": _rupees(total_of("OTHER")),
        "RndOffAmt": _rupees(0),
        "TotInvVal": _rupees(grand),
    }
    if invoice.currency.upper() != "INR":
        foreign = Money(invoice.total, invoice.currency).to_decimal()
        values["TotInvValFc"] = foreign.quantize(_CENT)
    return values


def _dmy(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).date().strftime("%d/%m/%Y")


def build(
    invoice: InvoiceOut,
    seller: Seller,
    *,
    document_type: Literal["INV", "CRN"] = "INV",
    preceding: Reference | None = None,
) -> dict[str, Any]:
    """The INV-01 JSON of a finalized invoice (amounts as Decimal rupees).

    `document_type="CRN"` with the `preceding` invoice serves a credit note presented as an
    `InvoiceOut`. Raises EinvoiceRefused when the document has no e-invoice as it stands.
    """
    _check_applicable(invoice, seller)
    assert invoice.number is not None
    assert invoice.issued_at is not None
    seller_details, buyer_details = _parties(invoice, seller)
    items = _items(invoice)
    if invoice.currency.upper() != "INR":
        _convert(items, invoice)
    customer = invoice.customer
    document: dict[str, Any] = {
        "Version": SCHEMA_VERSION,
        "TranDtls": {
            "TaxSch": "GST",
            "SupTyp": _supply_type(invoice, customer),
            # GST itself reverse-charges none of these supplies (tax/in_gst.py); an invoice's
            # reverse charge with a VAT line is the EU/UK customer's VAT, not GST's.
            "RegRev": "Y" if invoice.reverse_charge and not _has_vat(invoice) else "N",
            "IgstOnIntra": "N",
        },
        "DocDtls": {
            "Typ": document_type,
            "No": invoice.number,
            "Dt": _dmy(invoice.issued_at, seller.timezone),
        },
        "SellerDtls": seller_details,
        "BuyerDtls": buyer_details,
        "ItemList": [_item_json(position, item) for position, item in enumerate(items, 1)],
        "ValDtls": _values(items, invoice),
    }
    if _export(customer):
        currency = invoice.currency.upper()
        document["ExpDtls"] = {
            "CntCode": str(customer.get("country")).upper(),
            **({"ForCur": currency} if currency != "INR" else {}),
        }
    if preceding is not None:
        document["RefDtls"] = {
            "PrecDocDtls": [
                {"InvNo": preceding.number, "InvDt": _dmy(preceding.issued_at, seller.timezone)}
            ]
        }
    return document
