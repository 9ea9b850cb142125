"""The invoice as a tax document, before any PDF: each case's rule 46 (GST) or art. 226 (VAT)
fields, worded and formatted for the customer's locale."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from hisaab.invoicing.rendering.document import (
    DetailRow,
    Reference,
    TaxDocument,
    TotalRow,
    document_locale,
    from_invoice,
)
from hisaab.tax import eu_vat, in_gst
from tests.invoicing.rendering import factory as f


def _details(doc: TaxDocument) -> dict[str, str]:
    return {row.label: row.value for row in doc.details}


def _totals(doc: TaxDocument) -> dict[str, str]:
    return {row.label: row.value for row in doc.totals}


@pytest.mark.parametrize(
    ("customer_locale", "currency", "seller_country", "locale"),
    [
        ("en", "INR", "IN", "en_IN"),  # rupees in lakhs even when the customer left "en"
        ("en", "USD", "IN", "en_IN"),  # an Indian seller's dates read day-first
        ("hi", "INR", "IN", "hi_IN"),
        ("de", "INR", "IN", "de"),  # there is no de_IN
        ("de-DE", "INR", "IN", "de_DE"),
        ("fr", "EUR", "US", "fr"),
        ("en-US", "INR", "IN", "en_US"),  # an explicit territory is the customer's choice
        ("es", "EUR", "US", "en"),  # not a language invoices are printed in
        (None, "USD", "US", "en"),
        ("!!", "INR", "IN", "en_IN"),
    ],
)
def test_document_locale(
    customer_locale: str | None, currency: str, seller_country: str, locale: str
) -> None:
    assert document_locale(customer_locale, currency, seller_country) == locale


def test_b2b_inter_state_tax_invoice() -> None:
    doc = from_invoice(f.b2b_inter_state(), f.GST_SELLER)
    assert (doc.kind, doc.title, doc.subtitle, doc.copy_mark) == (
        "tax_invoice",
        "Tax Invoice",
        None,
        "Original for recipient",
    )
    assert doc.supplier.name == "Acme Learning Pvt Ltd"
    assert doc.supplier.address == (
        "4th Floor, Prestige Tower",
        "100 Residency Road",
        "Bengaluru, Karnataka 560025",
    )
    assert doc.supplier.tax_ids == ("GSTIN: 29AAACA1234A1ZG",)
    assert doc.supplier.location == "State: Karnataka, Code: 29"
    assert doc.recipient.name == "Kulkarni Analytics LLP"
    assert doc.recipient.address == ("12 FC Road", "Pune 411004")
    assert doc.recipient.tax_ids == ("GSTIN: 27AAACA1234A1ZK",)
    assert doc.recipient.location == "State: Maharashtra, Code: 27"
    assert doc.details[:2] == (
        DetailRow("Invoice number", "ACME/2526/7"),
        DetailRow("Invoice date", "31 January 2026"),
    )
    assert _details(doc)["Place of supply"] == "27-Maharashtra"
    assert _details(doc)["Service period"] == "31 Jan 2026 \u2013 28 Feb 2026"
    [line] = doc.lines
    assert (line.sac, line.quantity, line.unit_price, line.taxable_value, line.amount) == (
        "998314",
        "1",
        "₹2,00,000.00",
        "₹2,00,000.00",
        "₹2,36,000.00",
    )
    assert line.taxes == ("IGST 18%: ₹36,000.00",)
    assert doc.totals == (
        TotalRow("Taxable value", "₹2,00,000.00"),
        TotalRow("IGST @ 18%", "₹36,000.00"),
        TotalRow("Total", "₹2,36,000.00", strong=True),
    )
    assert doc.amount_in_words == "Rupees Two Lakh Thirty-Six Thousand Only"
    assert doc.reverse_charge == "Whether tax is payable on reverse charge: No"
    assert doc.vat_reverse_charge == ()
    assert doc.notes == ()
    assert doc.signature == ("For Acme Learning Pvt Ltd", "Authorised signatory")
    assert (doc.show_tax, doc.show_discount, doc.gst) == (True, False, True)


def test_b2c_names_the_recipients_state_and_code() -> None:
    doc = from_invoice(f.b2c_intra_state(), f.GST_SELLER)
    assert doc.recipient.tax_ids == ()
    assert doc.recipient.location == "State: Karnataka, Code: 29"
    assert _details(doc)["Place of supply"] == "29-Karnataka"
    assert _totals(doc) == {
        "Taxable value": "₹2,00,000.00",
        "CGST @ 9%": "₹18,000.00",
        "SGST @ 9%": "₹18,000.00",
        "Total": "₹2,36,000.00",
    }
    assert doc.lines[0].taxes == ("CGST 9%: ₹18,000.00", "SGST 9%: ₹18,000.00")


def test_export_under_lut_names_the_country_and_carries_the_endorsement() -> None:
    doc = from_invoice(f.export(), f.GST_SELLER)
    assert doc.recipient.location == "Country: United States"
    assert _details(doc)["Place of supply"] == "96-Foreign Country"
    assert _totals(doc)["IGST @ 0%"] == "₹0.00"
    assert doc.notes == (in_gst.NOTE_EXPORT_LUT,)
    assert doc.amount_in_words == "Rupees Two Lakh Only"
    assert doc.reverse_charge == "Whether tax is payable on reverse charge: No"


def test_eu_business_reverse_charge_names_both_vat_numbers() -> None:
    taxes = [f.tax("VAT", "0.00", 10_000, "NL")]
    buyer = f.customer(
        name="Jansen BV", country="NL", vat_id="NL004495445B01", address=None, locale="en"
    )
    invoice = f.invoice(
        [f.line(10_000, taxes, sac=None)],
        buyer,
        place="NL",
        currency="EUR",
        reverse_charge=True,
        notes=(eu_vat.NOTE_REVERSE_CHARGE,),
        number="ACME-2026-0001",
    )
    doc = from_invoice(invoice, f.OSS_SELLER)
    assert (doc.kind, doc.title, doc.copy_mark, doc.gst) == ("invoice", "Invoice", None, False)
    assert doc.supplier.tax_ids == ("VAT number (OSS): EU372000041",)
    assert doc.recipient.tax_ids == ("VAT number: NL004495445B01",)
    assert doc.reverse_charge is None
    assert doc.vat_reverse_charge == (
        "Reverse charge",
        "Supplier's VAT number: EU372000041",
        "Customer's VAT number: NL004495445B01",
    )
    assert _details(doc)["Place of supply"] == "Netherlands"
    assert _totals(doc)["VAT @ 0%"] == "€0.00"
    assert doc.amount_in_words == "One hundred euros"
    assert doc.notes == (eu_vat.NOTE_REVERSE_CHARGE,)


def test_indian_seller_with_oss_reverse_charge_is_vat_not_gst() -> None:
    seller = replace(f.GST_SELLER, registrations=(("eu_oss", "EU356000001"),))
    taxes = [f.tax("IGST", "0.00", 10_000), f.tax("VAT", "0.00", 10_000, "DE")]
    buyer = f.customer(name="Schmidt GmbH", country="DE", vat_id="DE136695976", locale="de")
    invoice = f.invoice(
        [f.line(10_000, taxes)],
        buyer,
        place="96-Foreign Country",
        reverse_charge=True,
        notes=(in_gst.NOTE_EXPORT_LUT, eu_vat.NOTE_REVERSE_CHARGE),
    )
    doc = from_invoice(invoice, seller)
    assert doc.reverse_charge == "Steuerschuld im Reverse-Charge-Verfahren: Nein"
    assert doc.vat_reverse_charge[0].startswith("Steuerschuldnerschaft des Leistungsempfängers")
    assert "USt-IdNr. (OSS): EU356000001" in doc.supplier.tax_ids
    assert "USt. 0\xa0%" in _totals(doc)


def test_seller_without_registrations_prints_a_plain_invoice() -> None:
    buyer = f.customer(name="Jane Doe", country="US", address=f.NEW_YORK)
    invoice = f.invoice(
        [f.line(5_000, [], sac=None)], buyer, place=None, currency="USD", number="ACME-2026-0001"
    )
    doc = from_invoice(invoice, f.PLAIN_SELLER)
    assert (doc.title, doc.show_tax, doc.reverse_charge, doc.copy_mark) == (
        "Invoice",
        False,
        None,
        None,
    )
    assert doc.supplier.tax_ids == ()
    assert doc.totals == (
        TotalRow("Taxable value", "$50.00"),
        TotalRow("Total", "$50.00", strong=True),
    )
    assert doc.amount_in_words == "Fifty US dollars"
    assert "Place of supply" not in _details(doc)


@pytest.mark.parametrize(
    ("locale", "title", "subtitle", "number_label", "date", "total", "reverse"),
    [
        ("hi", "कर बीजक", "Tax Invoice", "बीजक संख्या", "31 जनवरी 2026", "कुल",
         "क्या कर रिवर्स चार्ज के आधार पर देय है: नहीं"),
        ("de", "Steuerrechnung", "Tax Invoice", "Rechnungsnummer", "31. Januar 2026",
         "Gesamtbetrag", "Steuerschuld im Reverse-Charge-Verfahren: Nein"),
        ("fr", "Facture fiscale", "Tax Invoice", "Numéro de facture", "31 janvier 2026", "Total",
         "Taxe due par le preneur (autoliquidation): Non"),
    ],
)  # fmt: skip
def test_labels_dates_and_numbers_follow_the_locale(
    locale: str,
    title: str,
    subtitle: str,
    number_label: str,
    date: str,
    total: str,
    reverse: str,
) -> None:
    doc = from_invoice(f.b2c_intra_state(locale=locale), f.GST_SELLER)
    assert (doc.title, doc.subtitle) == (title, subtitle)
    assert doc.details[0] == DetailRow(number_label, "ACME/2526/7")
    assert doc.details[1].value == date
    assert total in _totals(doc)
    assert doc.reverse_charge == reverse
    assert doc.amount_in_words == "Rupees Two Lakh Thirty-Six Thousand Only"


def test_rupees_group_in_lakhs_in_hindi_and_by_thousands_in_german() -> None:
    hindi = from_invoice(f.b2c_intra_state(locale="hi"), f.GST_SELLER)
    german = from_invoice(f.b2c_intra_state(locale="de"), f.GST_SELLER)
    assert hindi.totals[-1].value == "₹2,36,000.00"
    assert german.totals[-1].value == "236.000,00\xa0₹"


def test_void_invoice_is_stamped() -> None:
    invoice = f.b2c_intra_state().model_copy(update={"status": "void"})
    assert from_invoice(invoice, f.GST_SELLER).stamp == "VOID"
    assert from_invoice(f.b2c_intra_state(), f.GST_SELLER).stamp is None


def test_credit_applied_leaves_an_amount_due() -> None:
    taxes = [f.tax("IGST", "18.00", 100_000)]
    invoice = f.invoice(
        [f.line(100_000, taxes)], f.customer(gstin=f.MH_GSTIN), place="27-Maharashtra",
        credit_applied=18_000,
    )  # fmt: skip
    doc = from_invoice(invoice, f.GST_SELLER)
    assert doc.totals[-3:] == (
        TotalRow("Total", "₹1,180.00", strong=True),
        TotalRow("Credit applied", "-₹180.00"),
        TotalRow("Amount due", "₹1,000.00", strong=True),
    )
    assert doc.amount_in_words == "Rupees One Thousand One Hundred Eighty Only"


def test_discount_is_a_column_and_reduces_the_taxable_value() -> None:
    taxes = [f.tax("IGST", "18.00", 180_000)]
    invoice = f.invoice(
        [f.line(200_000, taxes, discount=20_000)], f.customer(gstin=f.MH_GSTIN),
        place="27-Maharashtra",
    )  # fmt: skip
    doc = from_invoice(invoice, f.GST_SELLER)
    assert doc.show_discount
    [line] = doc.lines
    assert (line.discount, line.taxable_value, line.amount) == (
        "₹200.00",
        "₹1,800.00",
        "₹2,124.00",
    )


def test_foreign_currency_gst_invoice_states_the_rupee_values() -> None:
    taxes = [f.tax("IGST", "0.00", 250_050)]
    inr = {
        "rate": "83.1250",
        "rate_date": "2026-01-30",
        "taxable_amount": 20_785_406,
        "tax_lines": [{"type": "IGST", "rate": "0.00", "amount": 0}],
        "tax": 0,
        "total": 20_785_406,
    }
    buyer = f.customer(name="Dupont SARL", country="US", address=f.NEW_YORK)
    invoice = f.invoice(
        [f.line(250_050, taxes)], buyer, place="96-Foreign Country", currency="USD",
        notes=(in_gst.NOTE_EXPORT_LUT,), inr_values=inr,
    )  # fmt: skip
    doc = from_invoice(invoice, f.GST_SELLER)
    assert doc.exchange_rate == (
        "Exchange rate: 1 USD = 83.1250 INR (30 January 2026); taxable value and tax in INR: "
        "₹2,07,854.06 and IGST ₹0.00 (total ₹2,07,854.06)"
    )
    assert doc.totals[-1].value == "$2,500.50"
    assert doc.amount_in_words == "Two thousand, five hundred dollars, fifty cents"


def test_a_credit_note_reuses_the_document() -> None:
    original = Reference("ACME/2526/7", f.ISSUED)
    credit = f.b2c_intra_state().model_copy(update={"number": "ACME-CN/2526/1"})
    doc = from_invoice(credit, f.GST_SELLER, kind="credit_note", reference=original)
    assert doc.title == "Credit Note"
    assert doc.details[:3] == (
        DetailRow("Credit note number", "ACME-CN/2526/1"),
        DetailRow("Credit note date", "31 January 2026"),
        DetailRow("Original invoice", "ACME/2526/7 (31 January 2026)"),
    )


def test_a_draft_has_no_document() -> None:
    draft = f.b2c_intra_state().model_copy(update={"number": None, "issued_at": None})
    with pytest.raises(ValueError, match="draft"):
        from_invoice(draft, f.GST_SELLER)


def test_dates_are_the_sellers_calendar_day() -> None:
    """18:45 UTC on 31 March is already 1 April (a new financial year) in Bengaluru."""
    late = f.b2c_intra_state().model_copy(
        update={"issued_at": f.ISSUED.replace(month=3, day=31, hour=18, minute=45)}
    )
    assert from_invoice(late, f.GST_SELLER).issue_date == "1 April 2026"
    assert date(2026, 4, 1)  # the day the document says, not the UTC one
