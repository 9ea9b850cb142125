"""The India e-invoice (INV-01, schema 1.1) of an invoice: supply types, amounts that add up
item by item and in total, and the refusals where the IRP would refuse."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hisaab.invoicing.rendering.document import Reference
from hisaab.invoicing.rendering.einvoice import EinvoiceRefused, build
from hisaab.invoicing.schemas import InvoiceOut
from tests.invoicing.rendering import factory as f

GST = ("IgstAmt", "CgstAmt", "SgstAmt", "OthChrg")


def _adds_up(document: dict[str, Any]) -> None:
    items, values = document["ItemList"], document["ValDtls"]
    for item in items:
        assert item["TotAmt"] - item["Discount"] == item["AssAmt"]
        assert item["TotItemVal"] == item["AssAmt"] + sum(item[k] for k in GST)
        assert abs(item["UnitPrice"] * item["Qty"] - item["TotAmt"]) < 1
    assert values["AssVal"] == sum(i["AssAmt"] for i in items)
    for item_key, total_key in (
        ("IgstAmt", "IgstVal"),
        ("CgstAmt", "CgstVal"),
        ("SgstAmt", "SgstVal"),
        ("OthChrg", "OthChrg"),
    ):
        assert values[total_key] == sum(i[item_key] for i in items)
    assert values["TotInvVal"] == sum(i["TotItemVal"] for i in items)


def test_b2b_inter_state() -> None:
    document = build(f.b2b_inter_state(), f.GST_SELLER)
    _adds_up(document)
    assert document["Version"] == "1.1"
    assert document["TranDtls"] == {
        "TaxSch": "GST",
        "SupTyp": "B2B",
        "RegRev": "N",
        "IgstOnIntra": "N",
    }
    assert document["DocDtls"] == {"Typ": "INV", "No": "ACME/2526/7", "Dt": "31/01/2026"}
    assert document["SellerDtls"] == {
        "Gstin": f.KA_GSTIN,
        "LglNm": "Acme Learning Pvt Ltd",
        "Addr1": "4th Floor, Prestige Tower",
        "Addr2": "100 Residency Road",
        "Loc": "Bengaluru",
        "Pin": 560025,
        "Stcd": "29",
        "Em": "billing@acme.test",
    }
    assert document["BuyerDtls"] == {
        "Gstin": f.MH_GSTIN,
        "LglNm": "Kulkarni Analytics LLP",
        "Pos": "27",
        "Addr1": "12 FC Road",
        "Loc": "Pune",
        "Pin": 411004,
        "Stcd": "27",
        "Em": "accounts@kulkarni.test",
    }
    [item] = document["ItemList"]
    assert item == {
        "SlNo": "1",
        "PrdDesc": "Pro plan",
        "IsServc": "Y",
        "HsnCd": "998314",
        "Qty": 1,
        "Unit": "OTH",
        "UnitPrice": Decimal("200000.000"),
        "TotAmt": Decimal("200000.00"),
        "Discount": Decimal("0.00"),
        "AssAmt": Decimal("200000.00"),
        "GstRt": 18,
        "IgstAmt": Decimal("36000.00"),
        "CgstAmt": Decimal("0.00"),
        "SgstAmt": Decimal("0.00"),
        "CesRt": 0,
        "CesAmt": Decimal("0.00"),
        "OthChrg": Decimal("0.00"),
        "TotItemVal": Decimal("236000.00"),
    }
    assert document["ValDtls"]["TotInvVal"] == Decimal("236000.00")
    assert "ExpDtls" not in document


def test_b2b_intra_state_splits_the_rate_into_cgst_and_sgst() -> None:
    document = build(f.b2b_intra_state(), f.GST_SELLER)
    _adds_up(document)
    [item] = document["ItemList"]
    assert (item["GstRt"], item["CgstAmt"], item["SgstAmt"], item["IgstAmt"]) == (
        18,
        Decimal("18000.00"),
        Decimal("18000.00"),
        Decimal("0.00"),
    )
    assert document["BuyerDtls"]["Pos"] == document["BuyerDtls"]["Stcd"] == "29"


def test_utgst_is_reported_as_sgst() -> None:
    taxes = [f.tax("CGST", "9.00", 10_000, "CH"), f.tax("UTGST", "9.00", 10_000, "CH")]
    invoice = f.invoice(
        [f.line(10_000, taxes)], f.customer(gstin="04AAACA1234A1ZM"), place="04-Chandigarh"
    )
    seller = replace(f.GST_SELLER, gstin="04AAACA1234A1ZM")
    [item] = build(invoice, seller)["ItemList"]
    assert (item["CgstAmt"], item["SgstAmt"]) == (Decimal("9.00"), Decimal("9.00"))


@pytest.mark.parametrize(
    ("invoice", "supply_type"),
    [
        (f.export(lut=True), "EXPWOP"),
        (f.export(lut=False), "EXPWP"),
        (f.sez(lut=True), "SEZWOP"),
        (f.sez(lut=False), "SEZWP"),
    ],
    ids=["export-lut", "export-igst", "sez-lut", "sez-igst"],
)
def test_supply_types(invoice: InvoiceOut, supply_type: str) -> None:
    document = build(invoice, f.GST_SELLER)
    _adds_up(document)
    assert document["TranDtls"]["SupTyp"] == supply_type


def test_an_export_buyer_is_unregistered_in_other_country() -> None:
    document = build(f.export(), f.GST_SELLER)
    buyer = document["BuyerDtls"]
    assert (buyer["Gstin"], buyer["Pos"], buyer["Stcd"], buyer["Pin"]) == (
        "URP",
        "96",
        "96",
        999999,
    )
    assert document["ExpDtls"] == {"CntCode": "US"}
    assert document["ItemList"][0]["GstRt"] == 0


def test_discounts_and_several_lines_add_up() -> None:
    lines = [
        f.line(300_000, [f.tax("IGST", "18.00", 270_000)], quantity=3, discount=30_000),
        f.line(99_999, [f.tax("IGST", "18.00", 99_999)], description="Seats"),
        f.line(118_000, [f.tax("IGST", "18.00", 100_000)], behavior="inclusive"),
    ]
    lines[2]["tax_lines"][0]["amount"] = 18_000
    invoice = f.invoice(lines, f.customer(gstin=f.MH_GSTIN), place="27-Maharashtra")
    document = build(invoice, f.GST_SELLER)
    _adds_up(document)
    first, _, inclusive = document["ItemList"]
    assert (first["Qty"], first["UnitPrice"], first["Discount"], first["AssAmt"]) == (
        3,
        Decimal("1000.000"),
        Decimal("300.00"),
        Decimal("2700.00"),
    )
    # An inclusive price is reported net of its tax: the IRP adds the tax itself.
    assert (inclusive["TotAmt"], inclusive["AssAmt"], inclusive["TotItemVal"]) == (
        Decimal("1000.00"),
        Decimal("1000.00"),
        Decimal("1180.00"),
    )
    assert document["ValDtls"]["TotInvVal"] == Decimal(invoice.total) / 100


def test_foreign_currency_lines_add_up_to_the_recorded_rupee_values() -> None:
    lines = [f.line(33_333, [f.tax("IGST", "18.00", 33_333)]) for _ in range(3)]
    invoice = f.invoice(
        lines, f.customer(name="Dupont SARL", country="US", address=f.NEW_YORK),
        place="96-Foreign Country", currency="USD",
        inr_values={
            "rate": "83.3333",
            "rate_date": "2026-01-30",
            "taxable_amount": 8_333_300,  # 99,999 cents at once, half up
            "tax_lines": [{"type": "IGST", "rate": "18.00", "amount": 1_499_994}],
            "tax": 1_499_994,
            "total": 9_833_294,
        },
    )  # fmt: skip
    document = build(invoice, f.GST_SELLER)
    _adds_up(document)
    values = document["ValDtls"]
    assert values["AssVal"] == Decimal("83333.00")
    assert values["IgstVal"] == Decimal("14999.94")
    assert values["TotInvVal"] == Decimal("98332.94")
    assert values["TotInvValFc"] == Decimal(invoice.total) / 100
    assert document["ExpDtls"] == {"CntCode": "US", "ForCur": "USD"}
    assert document["TranDtls"]["SupTyp"] == "EXPWP"


def test_a_credit_note_refers_to_its_invoice() -> None:
    credit = f.b2b_inter_state().model_copy(update={"number": "ACME-CN/2526/1"})
    document = build(
        credit, f.GST_SELLER, document_type="CRN", preceding=Reference("ACME/2526/7", f.ISSUED)
    )
    assert document["DocDtls"]["Typ"] == "CRN"
    assert document["RefDtls"] == {"PrecDocDtls": [{"InvNo": "ACME/2526/7", "InvDt": "31/01/2026"}]}


def _refusal(invoice: InvoiceOut, seller: Any = f.GST_SELLER) -> EinvoiceRefused:
    with pytest.raises(EinvoiceRefused) as refused:
        build(invoice, seller)
    return refused.value


def test_b2c_and_sellers_without_gstin_have_no_einvoice() -> None:
    assert _refusal(f.b2c_intra_state()).code == "einvoice_not_applicable"
    assert _refusal(f.b2b_inter_state(), f.PLAIN_SELLER).code == "einvoice_not_applicable"


def test_missing_addresses_are_named() -> None:
    invoice = f.b2b_inter_state(address={"line1": "12 FC Road", "postal_code": "41100"})
    refused = _refusal(invoice, replace(f.GST_SELLER, address=None))
    assert refused.code == "einvoice_incomplete"
    assert refused.detail == (
        "The e-invoice needs: seller address.line1; seller address.city; seller "
        "address.postal_code (a 6-digit PIN); customer address.city; customer "
        "address.postal_code (a 6-digit PIN)."
    )


def test_a_line_without_sac_is_incomplete() -> None:
    invoice = f.invoice(
        [f.line(10_000, [f.tax("IGST", "18.00", 10_000)], sac=None)],
        f.customer(gstin=f.MH_GSTIN),
        place="27-Maharashtra",
    )
    assert "SAC of line 1" in _refusal(invoice).detail


def test_a_credit_line_cannot_be_reported() -> None:
    lines = [
        f.line(20_000, [f.tax("IGST", "18.00", 20_000)]),
        f.line(-5_000, [f.tax("IGST", "18.00", -5_000)]),
    ]
    invoice = f.invoice(lines, f.customer(gstin=f.MH_GSTIN), place="27-Maharashtra")
    assert _refusal(invoice).code == "einvoice_negative_line"


def test_foreign_currency_without_rupee_values_is_incomplete() -> None:
    invoice = f.export().model_copy(update={"currency": "USD"})
    assert _refusal(invoice).code == "einvoice_incomplete"


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=10**9),
            st.integers(min_value=1, max_value=50),
            st.sampled_from(["0.00", "5.00", "12.00", "18.00", "28.00"]),
            st.booleans(),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_any_invoice_adds_up(lines: list[tuple[int, int, str, bool]]) -> None:
    built = []
    for unit, quantity, rate, intra in lines:
        amount = unit * quantity
        if intra:
            half = f"{Decimal(rate) / 2:.2f}"
            taxes = [f.tax("CGST", half, amount, "KA"), f.tax("SGST", half, amount, "KA")]
        else:
            taxes = [f.tax("IGST", rate, amount)]
        built.append(f.line(amount, taxes, quantity=quantity))
    invoice = f.invoice(built, f.customer(gstin=f.MH_GSTIN), place="27-Maharashtra")
    document = build(invoice, f.GST_SELLER)
    _adds_up(document)
    assert document["ValDtls"]["TotInvVal"] == Decimal(invoice.total) / 100
