"""What the engine refuses, and the regime helpers it is built from."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pytest

from hisaab.tax import eu_vat, gb_vat, in_gst
from hisaab.tax.assessment import Party, TaxableLine
from hisaab.tax.engine import decide, registrations
from hisaab.tax.in_states import BY_ISO, STATES
from hisaab.tax.rates import NoRateInForce
from tests.tax.parties import (
    CH_SELLER,
    DE_CONSUMER,
    DE_SELLER,
    DE_VAT,
    FR_CONSUMER,
    GB_SELLER,
    IN_NO_STATE,
    KA_BUSINESS,
    KA_CONSUMER,
    KA_SELLER,
    KA_SEZ,
    MH_BUSINESS,
    NON_UNION_OSS,
    ON,
    US_COMPANY,
    US_SELLER,
    make_gstin,
)

LINE = (TaxableLine(100000, "exclusive", None),)


def run(
    seller: Party,
    buyer: Party,
    *,
    lines: Sequence[TaxableLine] = LINE,
    lut: bool = False,
    regs: Sequence[tuple[str, str]] = (),
    on: date = ON,
    currency: str = "INR",
) -> object:
    return decide(seller, buyer, currency, lines, on, seller_lut=lut, seller_registrations=regs)


@pytest.mark.parametrize(
    ("seller", "buyer", "kwargs", "error", "message"),
    [
        pytest.param(
            KA_SELLER, IN_NO_STATE, {}, ValueError, "needs its state",
            id="indian-buyer-without-gstin-or-state",
        ),
        pytest.param(
            KA_SELLER, Party("IN", "ZZ", None, None), {}, ValueError,
            "not an Indian state", id="indian-buyer-with-an-unknown-state",
        ),
        pytest.param(
            US_SELLER, DE_CONSUMER, {"lut": True}, ValueError, "Letter of Undertaking",
            id="lut-without-gstin",
        ),
        pytest.param(
            KA_SELLER, KA_CONSUMER, {"regs": (("in_gst", make_gstin("27")),)}, ValueError,
            "is not its in_gst registration", id="gstin-and-in-gst-registration-disagree",
        ),
        pytest.param(
            US_SELLER, DE_CONSUMER, {"regs": (("us_sales_tax", "123"),)}, ValueError,
            "unknown tax scheme", id="unknown-scheme",
        ),
        pytest.param(
            DE_SELLER, DE_CONSUMER, {"regs": DE_VAT + DE_VAT}, ValueError,
            "two eu_vat registrations", id="duplicate-scheme",
        ),
        pytest.param(
            DE_SELLER, DE_CONSUMER, {"regs": DE_VAT + NON_UNION_OSS}, ValueError,
            "exclude each other", id="eu-vat-and-eu-oss",
        ),
        pytest.param(
            Party("FR", None, None, None), DE_CONSUMER, {"regs": DE_VAT}, ValueError,
            "not of the seller's member state", id="eu-vat-number-of-another-state",
        ),
        pytest.param(
            DE_SELLER, DE_CONSUMER, {"regs": NON_UNION_OSS}, ValueError,
            "cannot be registered under eu_oss", id="eu-seller-on-the-non-union-oss",
        ),
        pytest.param(
            US_SELLER, DE_CONSUMER, {"regs": (("eu_vat", "DE136695976"),)}, ValueError,
            "not of the seller's member state", id="non-eu-seller-with-eu-vat",
        ),
        pytest.param(
            DE_SELLER, Party("FR", None, None, "DE129273398"), {"regs": DE_VAT}, ValueError,
            "not of the customer's country", id="buyer-vat-number-of-another-country",
        ),
        pytest.param(
            GB_SELLER, Party("GB", None, None, "DE129273398"),
            {"regs": (("gb_vat", "GB980780684"),)}, ValueError, "not a UK VAT number",
            id="gb-buyer-with-an-eu-vat-number",
        ),
        pytest.param(
            KA_SELLER, KA_CONSUMER, {"currency": "inr"}, ValueError, "currency",
            id="currency-not-normalized",
        ),
        pytest.param(
            KA_SELLER, Party("us", None, None, None), {}, ValueError, "buyer's country",
            id="country-not-normalized",
        ),
        pytest.param(
            KA_SELLER, KA_CONSUMER, {"lines": (TaxableLine(100, "gross", None),)}, ValueError,
            "tax_behavior", id="unknown-tax-behavior",
        ),
        pytest.param(
            KA_SELLER, KA_CONSUMER, {"lines": (TaxableLine(100, "exclusive", "996311"),)},
            NoRateInForce, "SAC 996311", id="sac-without-a-rate",
        ),
        pytest.param(
            KA_SELLER, US_COMPANY,
            {"lines": (TaxableLine(100, "exclusive", "996311"),), "lut": True},
            NoRateInForce, "SAC 996311", id="sac-without-a-rate-even-zero-rated",
        ),
        pytest.param(
            KA_SELLER, KA_CONSUMER, {"on": date(2017, 6, 30)}, NoRateInForce,
            "GST applies from 2017-07-01", id="before-gst",
        ),
        pytest.param(
            DE_SELLER, FR_CONSUMER, {"regs": DE_VAT, "on": date(2013, 1, 1)}, NoRateInForce,
            "EU VAT rate in force for FR", id="before-the-eu-table",
        ),
        pytest.param(
            Party("IN", "KA", "29AAACA1234A1ZX", None), KA_CONSUMER, {}, ValueError,
            "not a valid GSTIN", id="seller-gstin-with-a-bad-check-digit",
        ),
    ],
)  # fmt: skip
def test_refused(
    seller: Party, buyer: Party, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        run(seller, buyer, **kwargs)  # type: ignore[arg-type]


# --- registrations --------------------------------------------------------------------------------


def test_registrations_fold_the_gstin_in() -> None:
    assert registrations(KA_SELLER, ()) == {"in_gst": KA_SELLER.gstin}
    assert registrations(KA_SELLER, (("in_gst", f" {(KA_SELLER.gstin or '').lower()} "),)) == {
        "in_gst": KA_SELLER.gstin
    }
    assert registrations(Party("US", None, None, None), NON_UNION_OSS) == {"eu_oss": "EU372000041"}
    assert registrations(Party("GR", None, None, None), (("eu_vat", "EL094259216"),)) == {
        "eu_vat": "EL094259216"
    }


# --- India: places of supply and kinds of supply --------------------------------------------------


def test_every_state_has_its_own_place_of_supply_label() -> None:
    labels = [in_gst.place_of_supply_label(state) for state in STATES]
    assert len(set(labels)) == len(STATES)
    for state, label in zip(STATES, labels, strict=True):
        assert label.split("-", 1) == [state.gst_code, state.name]


def test_place_of_supply_examples() -> None:
    assert in_gst.place_of_supply_label(BY_ISO["KA"]) == "29-Karnataka"
    assert in_gst.place_of_supply_label(BY_ISO["AP"]) == "37-Andhra Pradesh"
    assert in_gst.EXPORT_PLACE_OF_SUPPLY == "96-Foreign Country"


@pytest.mark.parametrize(
    ("seller", "buyer", "kind"),
    [
        (KA_SELLER, KA_CONSUMER, "intra_state"),
        (KA_SELLER, KA_BUSINESS, "intra_state"),
        (KA_SELLER, MH_BUSINESS, "inter_state"),
        (KA_SELLER, KA_SEZ, "sez"),
        (KA_SELLER, US_COMPANY, "export"),
        (KA_SELLER, Party("US", None, None, None, sez=True), "export"),
        (CH_SELLER, Party("IN", "ch", None, None), "intra_state"),
    ],
)
def test_supply_kind(seller: Party, buyer: Party, kind: str) -> None:
    assert in_gst.supply_kind(in_gst.supplier_state(seller.gstin or ""), buyer) == kind


def test_an_old_andhra_gstin_is_andhra_pradesh_today() -> None:
    state = in_gst.supplier_state(make_gstin("28"))
    assert (state.iso_code, state.gst_code) == ("AP", "37")


def test_export_endorsements_are_the_rule_46_wording() -> None:
    """Rule 46, proviso on exports: the endorsement 'as the case may be', verbatim."""
    paid = "ON PAYMENT OF INTEGRATED TAX"
    lut = "UNDER BOND OR LETTER OF UNDERTAKING WITHOUT PAYMENT OF INTEGRATED TAX"
    assert f"SUPPLY MEANT FOR EXPORT {paid}" == in_gst.NOTE_EXPORT_PAID
    assert f"SUPPLY MEANT FOR EXPORT {lut}" == in_gst.NOTE_EXPORT_LUT
    sez = "SUPPLY TO SEZ UNIT OR SEZ DEVELOPER FOR AUTHORISED OPERATIONS"
    assert f"{sez} {paid}" == in_gst.NOTE_SEZ_PAID
    assert f"{sez} {lut}" == in_gst.NOTE_SEZ_LUT


# --- EU and UK helpers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "country"),
    [("DE136695976", "DE"), ("EL094259216", "GR"), ("xi123456789", "GB"), ("FR40303265045", "FR")],
)
def test_vat_number_country(number: str, country: str) -> None:
    assert eu_vat.vat_number_country(number) == country


def test_unknown_eu_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="not an EU VAT scheme"):
        eu_vat.treat("gb_vat", "DE", DE_CONSUMER, LINE, ON)


def test_regimes_without_anything_to_say_answer_none() -> None:
    assert eu_vat.treat("eu_oss", "US", US_COMPANY, LINE, ON) is None
    assert gb_vat.treat("US", FR_CONSUMER, LINE, ON) is None
