"""GST and VAT on real invoices: the tax engine's decision reaches lines, totals and notes."""

from __future__ import annotations

from typing import Any

import pytest

from hisaab.tax import in_gst
from tests.conftest import TenantHandle
from tests.e2e.billing import Billing, eu_oss_billing

PRO = 200_000
MH_GSTIN = "27AAACA1234A1ZK"


@pytest.fixture
def billing(tenant: TenantHandle, run_jobs: Any) -> Billing:
    return Billing(tenant, run_jobs)


def _invoice(billing: Billing, plan: str, **customer: Any) -> dict[str, Any]:
    sub = billing.subscribe(billing.customer(None, **customer), plan)
    invoice: dict[str, Any] = billing.get(f"/v1/invoices/{sub['latest_invoice_id']}")
    return invoice


def _taxes(invoice: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(t["type"], t["rate"], t["amount"]) for t in invoice["tax_lines"]]


def test_karnataka_consumer_pays_cgst_and_sgst(billing: Billing) -> None:
    invoice = _invoice(billing, billing.plan("pro", PRO), country="IN", state="KA")
    assert _taxes(invoice) == [("CGST", "9.00", 18_000), ("SGST", "9.00", 18_000)]
    assert (invoice["subtotal"], invoice["tax"], invoice["total"]) == (PRO, 36_000, 236_000)
    assert invoice["amount_due"] == 236_000
    assert invoice["place_of_supply"] == "29-Karnataka"
    assert invoice["reverse_charge"] is False
    assert [t["type"] for t in invoice["lines"][0]["tax_lines"]] == ["CGST", "SGST"]


def test_maharashtra_business_pays_igst(billing: Billing) -> None:
    invoice = _invoice(billing, billing.plan("pro", PRO), country="IN", gstin=MH_GSTIN)
    assert _taxes(invoice) == [("IGST", "18.00", 36_000)]
    assert invoice["place_of_supply"] == "27-Maharashtra"
    assert invoice["customer"]["gstin"] == MH_GSTIN


def test_export_under_lut_is_zero_rated_with_the_note(billing: Billing) -> None:
    invoice = _invoice(billing, billing.plan("pro", PRO))
    assert _taxes(invoice) == [("IGST", "0.00", 0)]
    assert invoice["total"] == PRO
    assert in_gst.NOTE_EXPORT_LUT in invoice["notes"]


def test_export_without_lut_pays_igst(make_tenant: Any, run_jobs: Any) -> None:
    billing = Billing(make_tenant(lut=False), run_jobs)
    invoice = _invoice(billing, billing.plan("pro", PRO))
    assert _taxes(invoice) == [("IGST", "18.00", 36_000)]
    assert in_gst.NOTE_EXPORT_PAID in invoice["notes"]


def test_inclusive_price_holds_the_tax_inside(billing: Billing) -> None:
    plan = billing.plan("pro", 118_000, tax_behavior="inclusive")
    invoice = _invoice(billing, plan, country="IN", state="KA")
    assert _taxes(invoice) == [("CGST", "9.00", 9_000), ("SGST", "9.00", 9_000)]
    assert (invoice["subtotal"], invoice["tax"], invoice["total"]) == (118_000, 18_000, 118_000)


def test_discount_reduces_the_taxable_value(billing: Billing) -> None:
    billing.post("/v1/coupons", {"code": "TEN", "percent_off": 10, "duration": "forever"}, 201)
    sub = billing.subscribe(
        billing.customer(None, country="IN", state="KA"), billing.plan("pro", PRO), coupon="TEN"
    )
    invoice = billing.get(f"/v1/invoices/{sub['latest_invoice_id']}")
    assert [t["taxable_amount"] for t in invoice["tax_lines"]] == [180_000, 180_000]
    assert invoice["total"] == 180_000 + 2 * 16_200


def test_eu_oss_tenant_charges_the_consumers_country_rate(make_tenant: Any, run_jobs: Any) -> None:
    billing, plan = eu_oss_billing(make_tenant, run_jobs)
    for country, rate in (("DE", "19.00"), ("FR", "20.00"), ("IE", "23.00")):
        invoice = _invoice(billing, plan, country=country, currency="EUR")
        assert _taxes(invoice) == [("VAT", rate, int(10_000 * float(rate) / 100))]
        assert invoice["number"].startswith("ACME-")
    business = _invoice(billing, plan, country="NL", currency="EUR", vat_id="NL004495445B01")
    assert business["reverse_charge"] is True
    assert business["total"] == 10_000
    assert business["notes"], "reverse charge is stated on the invoice"
