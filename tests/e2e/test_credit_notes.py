"""Credit notes through HTTP: own series, tax at the invoice's rates, settlement order, limits."""

from __future__ import annotations

import io
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from tests.conftest import TenantHandle
from tests.e2e.billing import Billing

PRO = 200_000  # ₹2,000 + 18% GST = ₹2,360


@pytest.fixture
def billing(tenant: TenantHandle, run_jobs: Any) -> Billing:
    return Billing(tenant, run_jobs)


def _ka_invoice(billing: Billing, amount: int = PRO, **plan: Any) -> dict[str, Any]:
    """An open invoice of a Karnataka consumer: CGST 9% + SGST 9%, sent for payment."""
    customer = billing.customer(None, country="IN", state="KA")
    sub = billing.subscribe(
        customer, billing.plan("pro", amount, **plan), collection_method="send_invoice"
    )
    invoice: dict[str, Any] = billing.get(f"/v1/invoices/{sub['latest_invoice_id']}")
    assert invoice["status"] == "open"
    return invoice


def _credit(billing: Billing, invoice_id: str, status: int = 201, **body: Any) -> Any:
    return billing.post("/v1/credit_notes", {"invoice_id": invoice_id, **body}, status)


def test_full_credit_of_an_open_invoice_settles_it(billing: Billing) -> None:
    invoice = _ka_invoice(billing)
    note = _credit(billing, invoice["id"], reason="duplicate")
    assert note["number"] == f"ACME-CN/{invoice['number'].split('/')[1]}/1"
    assert (note["subtotal"], note["tax"], note["total"]) == (PRO, 36_000, 236_000)
    assert [(t["type"], t["rate"], t["amount"]) for t in note["tax_lines"]] == [
        ("CGST", "9.00", 18_000),
        ("SGST", "9.00", 18_000),
    ]
    assert (note["credited_to_invoice"], note["credited_to_balance"], note["refunded"]) == (
        236_000,
        0,
        0,
    )
    assert note["invoice_number"] == invoice["number"]
    assert note["place_of_supply"] == "29-Karnataka"
    after = billing.get(f"/v1/invoices/{invoice['id']}")
    assert (after["status"], after["amount_remaining"], after["amount_credited"]) == (
        "paid",
        0,
        236_000,
    )
    assert billing.events(note["id"]) == ["credit_note.created"]
    assert billing.events(invoice["id"])[-1] == "invoice.paid"


def test_partial_credits_take_tax_at_the_invoice_rates_and_add_up(billing: Billing) -> None:
    invoice = _ka_invoice(billing)
    first = _credit(billing, invoice["id"], reason="order_change", amount=100_001)
    # Rule 35 finds the tax inside the total: 100,001 / 1.18 = 84,746.6 taxable.
    assert first["total"] == 100_001
    assert [t["amount"] for t in first["tax_lines"]] == [7_627, 7_627]
    assert first["subtotal"] == 100_001 - 2 * 7_627
    line = invoice["lines"][0]["id"]
    second = _credit(
        billing,
        invoice["id"],
        reason="order_change",
        lines=[{"invoice_line_id": line, "amount": 50_000}],
    )
    assert (second["subtotal"], second["tax"]) == (50_000, 9_000)
    last = _credit(billing, invoice["id"], reason="order_change")
    notes = [first, second, last]
    assert sum(n["subtotal"] for n in notes) == PRO
    assert sum(n["tax"] for n in notes) == 36_000
    assert [n["number"].rsplit("/", 1)[1] for n in notes] == ["1", "2", "3"]
    # Nothing is left: any further credit is refused and writes nothing.
    refused = _credit(billing, invoice["id"], 422, reason="duplicate", amount=1)
    assert refused["code"] == "amount_too_large"
    assert len(billing.get("/v1/credit_notes", invoice_id=invoice["id"])["data"]) == 3


def test_credit_of_a_paid_invoice_goes_to_balance_or_is_refunded(billing: Billing) -> None:
    invoice = _ka_invoice(billing)
    billing.post(f"/v1/invoices/{invoice['id']}/pay", {"paid_out_of_band": True})
    to_balance = _credit(billing, invoice["id"], reason="product_unsatisfactory", amount=11_800)
    assert (to_balance["credited_to_balance"], to_balance["refunded"]) == (11_800, 0)
    balance = billing.get(f"/v1/customers/{invoice['customer_id']}/credit_balance")
    assert balance["balance"] == 11_800
    refund = _credit(billing, invoice["id"], reason="duplicate", amount=23_600, refund=True)
    assert (refund["credited_to_balance"], refund["refunded"]) == (0, 23_600)
    assert billing.get(f"/v1/invoices/{invoice['id']}")["status"] == "paid"


def test_partly_paid_balance_is_reduced_before_anything_is_refunded(billing: Billing) -> None:
    invoice = _ka_invoice(billing)
    note = _credit(billing, invoice["id"], reason="order_change", amount=100_000)
    assert (note["credited_to_invoice"], note["credited_to_balance"]) == (100_000, 0)
    after = billing.get(f"/v1/invoices/{invoice['id']}")
    assert (after["status"], after["amount_remaining"]) == ("open", 136_000)
    # A refund is asked, but all that is left is still owed: it is taken off, nothing is paid out.
    rest = _credit(billing, invoice["id"], reason="duplicate", refund=True)
    assert (rest["credited_to_invoice"], rest["refunded"]) == (136_000, 0)
    after = billing.get(f"/v1/invoices/{invoice['id']}")
    assert (after["status"], after["amount_credited"]) == ("paid", 236_000)


def test_refund_is_limited_to_what_was_paid(billing: Billing) -> None:
    """Credit balance that paid part of an invoice goes back to the balance, never out as cash."""
    customer = billing.customer(None, country="IN", state="KA")
    plan = billing.plan("pro", PRO)
    first = billing.subscribe(customer, plan, collection_method="send_invoice")
    billing.post(f"/v1/invoices/{first['latest_invoice_id']}/pay", {"paid_out_of_band": True})
    _credit(billing, first["latest_invoice_id"], reason="order_change", amount=11_800)
    second = billing.subscribe(customer, plan, collection_method="send_invoice")
    invoice = billing.get(f"/v1/invoices/{second['latest_invoice_id']}")
    assert (invoice["credit_applied"], invoice["amount_due"]) == (11_800, 224_200)
    billing.post(f"/v1/invoices/{invoice['id']}/pay", {"paid_out_of_band": True})
    refused = _credit(billing, invoice["id"], 422, reason="duplicate", refund=True)
    assert refused["code"] == "refund_exceeds_payments"
    refund = _credit(billing, invoice["id"], reason="duplicate", amount=224_200, refund=True)
    assert refund["refunded"] == 224_200
    rest = _credit(billing, invoice["id"], reason="duplicate")
    assert (rest["total"], rest["credited_to_balance"]) == (11_800, 11_800)


def test_inclusive_line_credit_keeps_value_plus_tax_exact(billing: Billing) -> None:
    invoice = _ka_invoice(billing, 118_000, tax_behavior="inclusive")
    note = _credit(billing, invoice["id"], reason="order_change", amount=59_000)
    assert (note["subtotal"], note["tax"], note["total"]) == (50_000, 9_000, 59_000)
    rest = _credit(billing, invoice["id"], reason="order_change")
    assert (rest["subtotal"], rest["tax"]) == (50_000, 9_000)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"amount": 0}, 422, None),
        ({"amount": 236_001}, 422, "amount_too_large"),
        ({"lines": [{"invoice_line_id": "il_nope", "amount": 1}]}, 422, "unknown_invoice_line"),
        ({"amount": 1, "lines": [{"invoice_line_id": "il_x", "amount": 1}]}, 422, None),
        ({"reason": "because"}, 422, None),
        ({"memo": "x" * 501}, 422, None),
    ],
)
def test_bad_requests_change_nothing(
    billing: Billing, body: dict[str, Any], status: int, code: str | None
) -> None:
    invoice = _ka_invoice(billing)
    problem = _credit(billing, invoice["id"], status, **{"reason": "duplicate", **body})
    if code:
        assert problem["code"] == code
    assert billing.get("/v1/credit_notes", invoice_id=invoice["id"])["data"] == []
    assert billing.get(f"/v1/invoices/{invoice['id']}")["amount_remaining"] == 236_000


def test_void_and_unknown_invoices_cannot_be_credited(billing: Billing) -> None:
    invoice = _ka_invoice(billing)
    billing.post(f"/v1/invoices/{invoice['id']}/void")
    assert _credit(billing, invoice["id"], 409, reason="duplicate")["code"] == "invalid_state"
    assert _credit(billing, "in_unknown", 404, reason="duplicate")["status"] == 404


def test_duplicate_line_is_refused(billing: Billing) -> None:
    invoice = _ka_invoice(billing)
    line = {"invoice_line_id": invoice["lines"][0]["id"], "amount": 1_000}
    problem = _credit(billing, invoice["id"], 422, reason="duplicate", lines=[line, line])
    assert problem["code"] == "duplicate_invoice_line"


def test_credit_notes_have_their_own_series_apart_from_invoices(billing: Billing) -> None:
    first = _ka_invoice(billing)
    _credit(billing, first["id"], reason="duplicate", amount=1_180)
    second = _ka_invoice(billing)
    note = _credit(billing, second["id"], reason="duplicate", amount=1_180)
    assert note["number"].endswith("/2")
    assert second["number"].endswith("/2")
    assert "-CN/" not in second["number"]


def test_concurrent_credit_notes_never_overdraw_nor_skip_numbers(
    billing: Billing, app: Any
) -> None:
    invoice = _ka_invoice(billing)
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def credit() -> None:
        with TestClient(app) as http:
            http.headers["Authorization"] = billing.tenant.http.headers["Authorization"]
            barrier.wait()
            response = http.post(
                "/v1/credit_notes",
                json={"invoice_id": invoice["id"], "reason": "duplicate", "amount": 59_000},
            )
            statuses.append(response.status_code)

    threads = [threading.Thread(target=credit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] * 4 + [422] * 2
    notes = billing.get("/v1/credit_notes", invoice_id=invoice["id"])["data"]
    assert sorted(int(n["number"].rsplit("/", 1)[1]) for n in notes) == [1, 2, 3, 4]
    assert billing.get(f"/v1/invoices/{invoice['id']}")["status"] == "paid"


def test_foreign_currency_gst_invoice_records_inr_values(billing: Billing) -> None:
    refused = billing.tenant.http.post(
        "/v1/subscriptions",
        json={
            "customer_id": billing.customer(None, currency="USD"),
            "plan_id": billing.plan("usd", 1, prices=[{"currency": "USD", "unit_amount": 2_900}]),
        },
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "exchange_rate_missing"
    rate = billing.tenant.http.put(
        "/v1/exchange_rates/usd", json={"rate_to_inr": "83.125", "date": "2026-01-01"}
    )
    assert rate.status_code == 200, rate.text
    assert rate.json() == {
        "object": "exchange_rate",
        "currency": "USD",
        "rate_to_inr": "83.1250",
        "date": "2026-01-01",
    }
    customer = billing.customer(None, currency="USD", country="IN", state="MH")
    plan = billing.plan("usd", 1, prices=[{"currency": "USD", "unit_amount": 2_900}])
    invoice = billing.get(f"/v1/invoices/{billing.subscribe(customer, plan)['latest_invoice_id']}")
    inr = invoice["inr_values"]
    # $29.00 x 83.125 = ₹2,410.625 → 2,41,063 paise; IGST 18% of $29 = $5.22 → ₹433.91.
    assert (inr["rate"], inr["rate_date"]) == ("83.1250", "2026-01-01")
    assert inr["taxable_amount"] == 241_063
    assert inr["tax_lines"] == [{"type": "IGST", "rate": "18.00", "amount": 43_391}]
    assert inr["total"] == 241_063 + 43_391
    note = _credit(billing, invoice["id"], reason="duplicate")
    assert note["inr_values"]["taxable_amount"] == 241_063


def test_exchange_rates_refuse_inr_and_bad_rates(billing: Billing) -> None:
    http = billing.tenant.http
    assert http.put("/v1/exchange_rates/INR", json={"rate_to_inr": "1"}).json()["code"] == (
        "invalid_currency"
    )
    assert http.put("/v1/exchange_rates/XXZ", json={"rate_to_inr": "1"}).status_code == 422
    assert http.put("/v1/exchange_rates/USD", json={"rate_to_inr": "0"}).status_code == 422
    assert http.put("/v1/exchange_rates/USD", json={"rate_to_inr": "1.1234567"}).status_code == 422
    http.put("/v1/exchange_rates/EUR", json={"rate_to_inr": "90", "date": "2026-01-01"})
    http.put("/v1/exchange_rates/EUR", json={"rate_to_inr": "91.5", "date": "2026-02-01"})
    http.put("/v1/exchange_rates/EUR", json={"rate_to_inr": "91.25", "date": "2026-02-01"})
    listed = http.get("/v1/exchange_rates", params={"currency": "eur"}).json()["data"]
    assert [(r["date"], r["rate_to_inr"]) for r in listed] == [
        ("2026-02-01", "91.2500"),
        ("2026-01-01", "90.0000"),
    ]


def test_credit_note_pdf_names_the_invoice_it_corrects(billing: Billing) -> None:
    invoice = _ka_invoice(billing)
    note = _credit(billing, invoice["id"], reason="order_change", amount=59_000)
    response = billing.tenant.http.get(f"/v1/credit_notes/{note['id']}/pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert (
        f'filename="{note["number"].replace("/", "-")}.pdf"'
        in (response.headers["content-disposition"])
    )
    text = "".join(
        "".join(page.extract_text().split())
        for page in PdfReader(io.BytesIO(response.content)).pages
    )
    for expected in [
        "CreditNote",
        note["number"],
        invoice["number"],  # the invoice it corrects, with its date
        "₹500.00",  # taxable value taken back
        "CGST@9%",
        "₹45.00",
        "₹590.00",
        "RupeesFiveHundredNinetyOnly",
        "29-Karnataka",
        "29AAACA1234A1ZG",
    ]:
        assert expected in text, expected


def test_b2b_credit_note_has_an_einvoice_naming_the_invoice(billing: Billing) -> None:
    address = {"line1": "1 MG Road", "city": "Bengaluru", "postal_code": "560001"}
    billing.tenant.http.patch("/v1/tenant", json={"address": address})
    customer = billing.customer(
        None, country="IN", gstin="27AAACA1234A1ZK", address={**address, "city": "Pune"}
    )
    sub = billing.subscribe(customer, billing.plan("pro", PRO), collection_method="send_invoice")
    invoice = billing.get(f"/v1/invoices/{sub['latest_invoice_id']}")
    note = _credit(billing, invoice["id"], reason="order_change", amount=59_000)
    einvoice = billing.get(f"/v1/credit_notes/{note['id']}/einvoice")
    assert einvoice["DocDtls"]["Typ"] == "CRN"
    assert einvoice["DocDtls"]["No"] == note["number"]
    assert einvoice["RefDtls"]["PrecDocDtls"][0]["InvNo"] == invoice["number"]
    assert (einvoice["ValDtls"]["AssVal"], einvoice["ValDtls"]["IgstVal"]) == (500, 90)
    assert einvoice["ValDtls"]["TotInvVal"] == 590
    # A consumer's (B2C) credit note has none, like its invoice.
    b2c = _credit(billing, _ka_invoice(billing)["id"], reason="duplicate", amount=1_180)
    refused = billing.tenant.http.get(f"/v1/credit_notes/{b2c['id']}/einvoice")
    assert (refused.status_code, refused.json()["code"]) == (409, "einvoice_not_applicable")
