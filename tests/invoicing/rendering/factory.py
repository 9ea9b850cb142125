"""Invoices as the API presents them (`InvoiceOut`), built by hand for the pure document and
e-invoice tests: the tax figures are what the tax engine decides for each case (API.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hisaab.invoicing.rendering.document import Seller
from hisaab.invoicing.schemas import InvoiceOut
from hisaab.tax import in_gst

ISSUED = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)  # 15:30 in Bengaluru
PERIOD_END = datetime(2026, 2, 28, 10, 0, tzinfo=UTC)
KA_GSTIN = "29AAACA1234A1ZG"
MH_GSTIN = "27AAACA1234A1ZK"
BENGALURU = {
    "line1": "4th Floor, Prestige Tower",
    "line2": "100 Residency Road",
    "city": "Bengaluru",
    "postal_code": "560025",
    "state": "Karnataka",
}
PUNE = {"line1": "12 FC Road", "city": "Pune", "postal_code": "411004"}
NEW_YORK = {"line1": "350 Fifth Avenue", "city": "New York", "postal_code": "10118"}

GST_SELLER = Seller(
    name="Acme Learning Pvt Ltd",
    country="IN",
    state="KA",
    gstin=KA_GSTIN,
    address=BENGALURU,
    email="billing@acme.test",
    timezone="Asia/Kolkata",
    registrations=(("in_gst", KA_GSTIN),),
)
OSS_SELLER = Seller(
    name="Acme Cloud Ltd",
    country="US",
    state=None,
    gstin=None,
    address={"line1": "1 Market St", "city": "San Francisco", "postal_code": "94105"},
    email=None,
    timezone="UTC",
    registrations=(("eu_oss", "EU372000041"),),
)
PLAIN_SELLER = Seller(
    name="Plain Co",
    country="US",
    state=None,
    gstin=None,
    address=None,
    email=None,
    timezone="UTC",
)


def tax(kind: str, rate: str, taxable: int, jurisdiction: str = "IN") -> dict[str, Any]:
    from decimal import ROUND_HALF_UP, Decimal

    amount = int((Decimal(taxable) * Decimal(rate) / 100).quantize(0, ROUND_HALF_UP))
    return {
        "type": kind,
        "rate": rate,
        "jurisdiction": jurisdiction,
        "taxable_amount": taxable,
        "amount": amount,
    }


def customer(**fields: Any) -> dict[str, Any]:
    return {
        "name": "Kulkarni Analytics LLP",
        "email": "accounts@kulkarni.test",
        "country": "IN",
        "state": None,
        "gstin": None,
        "vat_id": None,
        "sez": False,
        "locale": "en",
        "address": PUNE,
        **fields,
    }


def line(
    amount: int,
    taxes: list[dict[str, Any]],
    *,
    quantity: int = 1,
    discount: int = 0,
    sac: str | None = "998314",
    behavior: str = "exclusive",
    description: str = "Pro plan",
) -> dict[str, Any]:
    return {
        "id": "il_1",
        "kind": "subscription",
        "description": description,
        "quantity": quantity,
        "unit_amount": amount // quantity,
        "amount": amount,
        "discount_amount": discount,
        "period_start": ISSUED,
        "period_end": PERIOD_END,
        "proration": False,
        "plan_id": "plan_1",
        "plan_version": 1,
        "sac_code": sac,
        "tax_behavior": behavior,
        "tax_lines": taxes,
    }


def invoice(
    lines: list[dict[str, Any]],
    buyer: dict[str, Any],
    *,
    place: str | None,
    currency: str = "INR",
    notes: tuple[str, ...] = (),
    reverse_charge: bool = False,
    status: str = "open",
    credit_applied: int = 0,
    inr_values: dict[str, Any] | None = None,
    number: str | None = "ACME/2526/7",
) -> InvoiceOut:
    per_type: dict[tuple[str, str, str], list[int]] = {}
    for ln in lines:
        for t in ln["tax_lines"]:
            sums = per_type.setdefault((t["type"], t["rate"], t["jurisdiction"]), [0, 0])
            sums[0] += t["taxable_amount"]
            sums[1] += t["amount"]
    tax_total = sum(t["amount"] for ln in lines for t in ln["tax_lines"])
    exclusive = sum(
        t["amount"] for ln in lines if ln["tax_behavior"] == "exclusive" for t in ln["tax_lines"]
    )
    subtotal = sum(ln["amount"] for ln in lines)
    discount = sum(ln["discount_amount"] for ln in lines)
    total = subtotal - discount + exclusive
    return InvoiceOut.model_validate(
        {
            "id": "in_1",
            "number": number,
            "status": status,
            "customer_id": "cus_1",
            "subscription_id": "sub_1",
            "billing_reason": "subscription_create",
            "collection_method": "charge_automatically",
            "currency": currency,
            "subtotal": subtotal,
            "discount": discount,
            "tax": tax_total,
            "total": total,
            "credit_applied": credit_applied,
            "amount_due": total - credit_applied,
            "amount_paid": 0,
            "amount_remaining": total - credit_applied,
            "amount_credited": 0,
            "period_start": ISSUED,
            "period_end": PERIOD_END,
            "issued_at": ISSUED if number else None,
            "due_at": ISSUED if number else None,
            "paid_at": None,
            "paid_out_of_band": False,
            "voided_at": None,
            "marked_uncollectible_at": None,
            "place_of_supply": place,
            "reverse_charge": reverse_charge,
            "lines": lines,
            "tax_lines": [
                {"type": t, "rate": r, "jurisdiction": j, "taxable_amount": s[0], "amount": s[1]}
                for (t, r, j), s in per_type.items()
            ],
            "notes": list(notes),
            "inr_values": inr_values,
            "customer": buyer,
            "test_clock_id": None,
            "created_at": ISSUED,
        }
    )


LAKHS = 20_000_000  # ₹2,00,000.00


def b2b_inter_state(amount: int = LAKHS, **buyer: Any) -> InvoiceOut:
    return invoice(
        [line(amount, [tax("IGST", "18.00", amount)])],
        customer(gstin=MH_GSTIN, **buyer),
        place="27-Maharashtra",
    )


def b2b_intra_state(amount: int = LAKHS) -> InvoiceOut:
    taxes = [tax("CGST", "9.00", amount, "KA"), tax("SGST", "9.00", amount, "KA")]
    return invoice(
        [line(amount, taxes)],
        customer(gstin="29AABCT1332L1ZU", address=BENGALURU),
        place="29-Karnataka",
    )


def b2c_intra_state(amount: int = LAKHS, **buyer: Any) -> InvoiceOut:
    taxes = [tax("CGST", "9.00", amount, "KA"), tax("SGST", "9.00", amount, "KA")]
    fields = {"name": "Asha Rao", "state": "KA", "address": BENGALURU, **buyer}
    return invoice([line(amount, taxes)], customer(**fields), place="29-Karnataka")


def export(amount: int = LAKHS, *, lut: bool = True, **buyer: Any) -> InvoiceOut:
    rate = "0.00" if lut else "18.00"
    note = in_gst.NOTE_EXPORT_LUT if lut else in_gst.NOTE_EXPORT_PAID
    fields = {"name": "Müller Software GmbH", "country": "US", "address": NEW_YORK, **buyer}
    return invoice(
        [line(amount, [tax("IGST", rate, amount)])],
        customer(**fields),
        place=in_gst.EXPORT_PLACE_OF_SUPPLY,
        notes=(note,),
    )


def sez(amount: int = LAKHS, *, lut: bool = True) -> InvoiceOut:
    rate = "0.00" if lut else "18.00"
    note = in_gst.NOTE_SEZ_LUT if lut else in_gst.NOTE_SEZ_PAID
    return invoice(
        [line(amount, [tax("IGST", rate, amount)])],
        customer(gstin=MH_GSTIN, sez=True),
        place="27-Maharashtra",
        notes=(note,),
    )
