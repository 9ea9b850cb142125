"""Invoice PDFs and e-invoices through HTTP: the PDF is parsed back (pypdf) and must hold every
field rule 46 of the CGST Rules asks for, in en, hi, de and fr; the e-invoice adds up."""

from __future__ import annotations

import base64
import io
import re
from decimal import Decimal
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader

from hisaab.tax import in_gst
from tests.conftest import TenantHandle
from tests.e2e.billing import Billing, eu_oss_billing

LAKHS = 20_000_000  # ₹2,00,000.00
NOW = "2026-01-31T10:00:00Z"  # 15:30 in Bengaluru: the invoice date is 31 January 2026
MH_GSTIN = "27AAACA1234A1ZK"
SUPPLIER_ADDRESS = {
    "line1": "4th Floor, Prestige Tower",
    "line2": "100 Residency Road",
    "city": "Bengaluru",
    "postal_code": "560025",
    "state": "Karnataka",
    "country": "IN",
}
PUNE = {"line1": "12 FC Road", "city": "Pune", "postal_code": "411004", "country": "IN"}
MYSURU = {"line1": "8 Sayyaji Rao Road", "city": "Mysuru", "postal_code": "570001"}
NEW_YORK = {"line1": "350 Fifth Avenue", "city": "New York", "postal_code": "10118"}


def _logo() -> str:
    image = Image.new("RGB", (240, 60), (20, 60, 140))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture
def billing(tenant: TenantHandle, run_jobs: Any) -> Billing:
    response = tenant.http.patch("/v1/tenant", json={"address": SUPPLIER_ADDRESS, "logo": _logo()})
    assert response.status_code == 200, response.text
    return Billing.invoiced(tenant, run_jobs)


def _invoice(billing: Billing, amount: int = LAKHS, **customer: Any) -> dict[str, Any]:
    clock = billing.clock(NOW)
    plan = billing.plan("pro", amount)
    sub = billing.subscribe(billing.customer(clock, **customer), plan)
    invoice: dict[str, Any] = billing.get(f"/v1/invoices/{sub['latest_invoice_id']}")
    return invoice


def _pdf(billing: Billing, invoice: dict[str, Any]) -> str:
    """The PDF's text, whitespace removed: extraction spaces shaped Devanagari and Babel's
    narrow no-break spaces as it likes, the characters themselves are what is checked."""
    response = billing.tenant.http.get(f"/v1/invoices/{invoice['id']}/pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    filename = invoice["number"].replace("/", "-") + ".pdf"
    assert response.headers["content-disposition"] == f'inline; filename="{filename}"'
    assert response.content.startswith(b"%PDF-")
    assert len(response.content) < 120_000, "fonts are embedded as subsets"
    reader = PdfReader(io.BytesIO(response.content))
    return _squash("".join(page.extract_text() for page in reader.pages))


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _holds(text: str, *fields: str) -> None:
    missing = [f for f in fields if _squash(f) not in text]
    assert not missing, f"not in the PDF: {missing}\n{text}"


SUPPLIER_FIELDS = (
    "Acme Learning Pvt Ltd",
    "4th Floor, Prestige Tower",
    "100 Residency Road",
    "Bengaluru, Karnataka 560025",
    "29AAACA1234A1ZG",
)


def test_b2b_tax_invoice_holds_every_rule_46_field(billing: Billing) -> None:
    invoice = _invoice(
        billing,
        name="Kulkarni Analytics LLP",
        country="IN",
        gstin=MH_GSTIN,
        address=PUNE,
        locale="en-IN",
    )
    text = _pdf(billing, invoice)
    _holds(
        text,
        "Tax Invoice",
        "Original for recipient",
        *SUPPLIER_FIELDS,
        "GSTIN: 29AAACA1234A1ZG",
        "State: Karnataka, Code: 29",  # the supplier's state and code
        f"Invoice number{invoice['number']}",  # (b)
        "Invoice date31 January 2026",  # (c)
        "Kulkarni Analytics LLP",  # (d) recipient name, address, GSTIN
        "12 FC Road",
        "Pune 411004",
        "GSTIN: 27AAACA1234A1ZK",
        "State: Maharashtra, Code: 27",
        "Place of supply27-Maharashtra",  # (m) with the state's name
        "998314",  # (f) SAC
        "Pro",  # (g) description
        "₹2,00,000.00",  # (i), (j) value and taxable value, lakh grouping
        "IGST 18%: ₹36,000.00",  # (k), (l) per line
        "IGST @ 18%₹36,000.00",  # (k), (l) per tax
        "Total₹2,36,000.00",
        "Amount in words: Rupees Two Lakh Thirty-Six Thousand Only",
        "Whether tax is payable on reverse charge: No",  # (o)
        "For Acme Learning Pvt Ltd",  # (q)
        "Authorised signatory",
    )
    assert invoice["number"].startswith("ACME/2526/")
    assert len(invoice["number"]) <= 16


def test_b2c_hindi_invoice_names_the_state_and_code(billing: Billing) -> None:
    """A Hindi name over a Latin address: both must come back as written (fpdf2 once printed
    the address in the wrong font after a line that began in Devanagari)."""
    invoice = _invoice(
        billing,
        name="आशा राव",
        country="IN",
        state="KA",
        address=MYSURU,
        locale="hi",
        amount=10_000_050,  # ₹1,00,000.50: paise in words
    )
    text = _pdf(billing, invoice)
    _holds(
        text,
        "कर बीजक",
        "Tax Invoice",
        "प्राप्तकर्ता के लिए मूल प्रति",
        *SUPPLIER_FIELDS,
        "राज्य: Karnataka, कोड: 29",
        f"बीजक संख्या{invoice['number']}",
        "बीजक की तिथि31 जनवरी 2026",
        "आशा राव",
        "8 Sayyaji Rao Road",
        "Mysuru 570001",
        "आपूर्ति का स्थान29-Karnataka",  # (e): place of supply with state name and code
        "998314",
        "कर योग्य मूल्य₹1,00,000.50",
        "CGST @ 9%₹9,000.05",  # 9% of 1,00,000.50 = 9,000.045, half up
        "SGST @ 9%₹9,000.05",
        "कुल₹1,18,000.60",
        "Rupees One Lakh Eighteen Thousand and Sixty Paise Only",
        "क्या कर रिवर्स चार्ज के आधार पर देय है: नहीं",
        "कृते Acme Learning Pvt Ltd",
        "अधिकृत हस्ताक्षरकर्ता",
    )


def test_german_export_under_lut_carries_the_endorsement(billing: Billing) -> None:
    invoice = _invoice(
        billing, name="Müller Software GmbH", country="US", address=NEW_YORK, locale="de-DE"
    )
    assert invoice["notes"] == [in_gst.NOTE_EXPORT_LUT]
    text = _pdf(billing, invoice)
    _holds(
        text,
        "Steuerrechnung",
        "Tax Invoice",
        *SUPPLIER_FIELDS,
        f"Rechnungsnummer{invoice['number']}",
        "Rechnungsdatum31. Januar 2026",
        "Müller Software GmbH",
        "350 Fifth Avenue",
        "Land: Vereinigte Staaten",  # the export proviso: country of destination
        "Leistungsort96-Foreign Country",
        "998314",
        "200.000,00 ₹",
        "IGST 0 %",
        "Gesamtbetrag200.000,00 ₹",
        "Rupees Two Lakh Only",
        "Steuerschuld im Reverse-Charge-Verfahren: Nein",
        in_gst.NOTE_EXPORT_LUT,
    )


def test_french_dollar_export_shows_the_rupee_values(billing: Billing) -> None:
    response = billing.tenant.http.put(
        "/v1/exchange_rates/USD", json={"rate_to_inr": "83.1250", "date": "2026-01-30"}
    )
    assert response.status_code == 200, response.text
    clock = billing.clock(NOW)
    plan = billing.post(
        "/v1/plans",
        {
            "code": "pro-usd",
            "name": "Pro",
            "interval": "month",
            "prices": [{"currency": "USD", "unit_amount": 250_050}],
        },
        201,
    )["id"]
    customer = billing.customer(
        clock, name="Dupont SARL", country="US", currency="USD", address=NEW_YORK, locale="fr"
    )
    sub = billing.subscribe(customer, plan)
    invoice = billing.get(f"/v1/invoices/{sub['latest_invoice_id']}")
    assert invoice["inr_values"]["rate"] == "83.1250"
    text = _pdf(billing, invoice)
    _holds(
        text,
        "Facture fiscale",
        f"Numéro de facture{invoice['number']}",
        "Date de facture31 janvier 2026",
        "Dupont SARL",
        "Pays : États-Unis",
        "Lieu de prestation96-Foreign Country",
        "2 500,50 $US",
        "Deux mille cinq cents dollars et cinquante cents",
        # 2,500.50 x 83.1250 = 2,07,854.0625: converted once, half up
        "Taux de change : 1 USD = 83,1250 INR (30 janvier 2026) ; base imposable et taxe en "
        "INR : 207 854,06 ₹ et IGST 0,00 ₹ (total 207 854,06 ₹)",
        in_gst.NOTE_EXPORT_LUT,
    )


def test_eu_reverse_charge_names_both_vat_numbers(make_tenant: Any, run_jobs: Any) -> None:
    billing, plan = eu_oss_billing(make_tenant, run_jobs)
    customer = billing.customer(
        billing.clock(NOW),
        name="Jansen BV",
        country="NL",
        currency="EUR",
        vat_id="NL004495445B01",
        locale="fr-FR",
    )
    invoice = billing.get(f"/v1/invoices/{billing.subscribe(customer, plan)['latest_invoice_id']}")
    assert invoice["reverse_charge"] is True
    text = _pdf(billing, invoice)
    _holds(
        text,
        "Facture",
        "Acme Cloud Ltd",
        "N° de TVA (OSS): EU372000041",
        "N° de TVA: NL004495445B01",
        "Autoliquidation",
        "N° de TVA du prestataire: EU372000041",
        "N° de TVA du preneur: NL004495445B01",
        "TVA 0 %",
        "Total100,00 €",
        "Cent euros",
    )
    for gst_only in ("Facture fiscale", "GSTIN", "SAC"):
        assert gst_only not in text


def test_void_invoice_prints_stamped_void(billing: Billing) -> None:
    invoice = _invoice(billing, country="IN", state="KA", address=MYSURU)
    billing.post(f"/v1/invoices/{invoice['id']}/void")
    _holds(_pdf(billing, invoice), "VOID", invoice["number"])


def test_another_tenants_invoice_is_404(billing: Billing, other_tenant: TenantHandle) -> None:
    invoice = _invoice(billing, country="IN", gstin=MH_GSTIN, address=PUNE)
    for kind in ("pdf", "einvoice"):
        response = other_tenant.http.get(f"/v1/invoices/{invoice['id']}/{kind}")
        assert response.status_code == 404
        assert response.json()["code"] == "resource_missing"
    assert other_tenant.http.get("/v1/invoices/in_nothing/pdf").status_code == 404


# --- e-invoice ------------------------------------------------------------------------------


def _einvoice(billing: Billing, invoice: dict[str, Any]) -> dict[str, Any]:
    response = billing.tenant.http.get(f"/v1/invoices/{invoice['id']}/einvoice")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _rupees(value: Any) -> Decimal:
    return Decimal(str(value))


def test_einvoice_of_a_b2b_invoice_adds_up(billing: Billing) -> None:
    invoice = _invoice(
        billing, name="Kulkarni Analytics LLP", country="IN", gstin=MH_GSTIN, address=PUNE
    )
    body = _einvoice(billing, invoice)
    assert body["Version"] == "1.1"
    assert body["TranDtls"] == {"TaxSch": "GST", "SupTyp": "B2B", "RegRev": "N", "IgstOnIntra": "N"}
    assert body["DocDtls"] == {"Typ": "INV", "No": invoice["number"], "Dt": "31/01/2026"}
    assert body["SellerDtls"] == {
        "Gstin": "29AAACA1234A1ZG",
        "LglNm": "Acme Learning Pvt Ltd",
        "Addr1": "4th Floor, Prestige Tower",
        "Addr2": "100 Residency Road",
        "Loc": "Bengaluru",
        "Pin": 560025,
        "Stcd": "29",
        "Em": "billing@acme.test",
    }
    buyer = body["BuyerDtls"]
    assert (buyer["Gstin"], buyer["Pos"], buyer["Stcd"], buyer["Pin"]) == (
        MH_GSTIN,
        "27",
        "27",
        411004,
    )
    [item] = body["ItemList"]
    assert item["HsnCd"] == "998314"
    assert item["IsServc"] == "Y"
    assert item["GstRt"] == 18
    assert _rupees(item["AssAmt"]) == Decimal("200000")
    assert _rupees(item["IgstAmt"]) == Decimal("36000")
    assert _rupees(item["CgstAmt"]) == _rupees(item["SgstAmt"]) == 0
    assert _rupees(item["TotItemVal"]) == _rupees(item["AssAmt"]) + _rupees(item["IgstAmt"])
    values = body["ValDtls"]
    assert _rupees(values["AssVal"]) == sum(_rupees(i["AssAmt"]) for i in body["ItemList"])
    assert _rupees(values["IgstVal"]) == sum(_rupees(i["IgstAmt"]) for i in body["ItemList"])
    assert _rupees(values["TotInvVal"]) == Decimal(invoice["total"]) / 100 == Decimal("236000")


def test_einvoice_of_an_export_is_expwop_under_lut(billing: Billing) -> None:
    invoice = _invoice(billing, name="Müller Software GmbH", country="US", address=NEW_YORK)
    body = _einvoice(billing, invoice)
    assert body["TranDtls"]["SupTyp"] == "EXPWOP"
    assert body["BuyerDtls"]["Gstin"] == "URP"
    assert (body["BuyerDtls"]["Pos"], body["BuyerDtls"]["Stcd"]) == ("96", "96")
    assert body["BuyerDtls"]["Pin"] == 999999
    assert body["ExpDtls"] == {"CntCode": "US"}
    assert _rupees(body["ValDtls"]["IgstVal"]) == 0
    assert _rupees(body["ValDtls"]["TotInvVal"]) == Decimal("200000")


def _refused(billing: Billing, invoice: dict[str, Any], code: str) -> None:
    response = billing.tenant.http.get(f"/v1/invoices/{invoice['id']}/einvoice")
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_einvoice_is_refused_for_b2c_and_incomplete_invoices(billing: Billing) -> None:
    b2c = _invoice(billing, country="IN", state="KA", address=MYSURU)
    _refused(billing, b2c, "einvoice_not_applicable")
    no_address = _invoice(billing, name="Kulkarni Analytics LLP", country="IN", gstin=MH_GSTIN)
    _refused(billing, no_address, "einvoice_incomplete")
    billing.post(f"/v1/invoices/{b2c['id']}/void")
    _refused(billing, b2c, "invalid_state")


def test_einvoice_is_refused_without_a_gstin(make_tenant: Any, run_jobs: Any) -> None:
    billing = Billing(
        make_tenant(country="US", state=None, gstin=None, lut=False, timezone="UTC"), run_jobs
    )
    invoice = _invoice(billing, country="US", address=NEW_YORK)
    _refused(billing, invoice, "einvoice_not_applicable")
