"""Pure customer rules: a coherent tax identity, locale, currency, metadata and gateway tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn

from hisaab.core.errors import HisaabError
from hisaab.core.money import currency_code
from hisaab.customers.rules import (
    METADATA_MAX_KEYS,
    SANDBOX_TOKENS,
    TaxIdentity,
    changed_tax_identity,
    locale,
    merged_metadata,
    payment_method_type,
    tax_identity,
)

KA_GSTIN = "29AAACA1234A1ZG"
MH_GSTIN = "27AAACA1234A1ZK"
KA_GSTIN_BAD_CHECKSUM = "29AAACA1234A1ZH"
DE_VAT = "DE136695976"
FR_VAT = "FR40303265045"
NL_VAT = "NL004495445B01"
IE_VAT = "IE6388047V"
EL_VAT = "EL094259216"
GB_VAT = "GB980780684"
XI_VAT = "XI980780684"


def make_gstin(state_code: str, pan: str = "AAPFU0939F") -> str:
    body = f"{state_code}{pan}1Z"
    return body + luhn.calc_check_digit(body, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _error(call: Callable[..., Any], *args: Any, **kwargs: Any) -> HisaabError:
    with pytest.raises(HisaabError) as caught:
        call(*args, **kwargs)
    assert caught.value.status == 422
    return caught.value


# --- tax_identity: coherent identities ------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            {"country": "IN", "gstin": KA_GSTIN},
            TaxIdentity("IN", "KA", KA_GSTIN),
            id="karnataka-gstin-fixes-state-KA",
        ),
        pytest.param(
            {"country": "IN", "state": "KA", "gstin": KA_GSTIN},
            TaxIdentity("IN", "KA", KA_GSTIN),
            id="gstin-and-agreeing-state",
        ),
        pytest.param(
            {"country": "in", "state": "in-ka", "gstin": KA_GSTIN.lower()},
            TaxIdentity("IN", "KA", KA_GSTIN),
            id="normalized-case-and-iso-prefix",
        ),
        pytest.param(
            {"country": "IN", "gstin": MH_GSTIN},
            TaxIdentity("IN", "MH", MH_GSTIN),
            id="maharashtra-gstin-fixes-state-MH",
        ),
        pytest.param(
            {"country": "IN", "gstin": make_gstin("38")},
            TaxIdentity("IN", "LA", make_gstin("38")),
            id="ladakh-gstin",
        ),
        pytest.param(
            {"country": "IN", "state": "MH"},
            TaxIdentity("IN", "MH"),
            id="indian-consumer-with-state",
        ),
        pytest.param(
            {"country": "IN", "state": "DL", "sez": True},
            TaxIdentity("IN", "DL", sez=True),
            id="sez-unit-without-gstin",
        ),
        pytest.param(
            {"country": "IN", "gstin": KA_GSTIN, "sez": True},
            TaxIdentity("IN", "KA", KA_GSTIN, sez=True),
            id="sez-unit-with-gstin",
        ),
        pytest.param(
            {"country": "DE", "vat_id": DE_VAT},
            TaxIdentity("DE", vat_id=DE_VAT),
            id="german-business",
        ),
        pytest.param(
            {"country": "FR", "vat_id": "fr 40 303 265 045"},
            TaxIdentity("FR", vat_id=FR_VAT),
            id="french-business-normalized",
        ),
        pytest.param(
            {"country": "NL", "vat_id": NL_VAT},
            TaxIdentity("NL", vat_id=NL_VAT),
            id="dutch-business",
        ),
        pytest.param(
            {"country": "GR", "vat_id": EL_VAT},
            TaxIdentity("GR", vat_id=EL_VAT),
            id="greek-business-EL-prefix",
        ),
        pytest.param(
            {"country": "GB", "vat_id": GB_VAT},
            TaxIdentity("GB", vat_id=GB_VAT),
            id="uk-business",
        ),
        pytest.param(
            {"country": "GB", "vat_id": XI_VAT},
            TaxIdentity("GB", vat_id=XI_VAT),
            id="northern-ireland-business",
        ),
        pytest.param({"country": "GB"}, TaxIdentity("GB"), id="uk-consumer"),
        pytest.param({"country": "de"}, TaxIdentity("DE"), id="eu-consumer"),
        pytest.param(
            {"country": "US", "state": "CA"}, TaxIdentity("US", "CA"), id="us-state-is-iso"
        ),
    ],
)
def test_coherent_tax_identities(args: dict[str, Any], expected: TaxIdentity) -> None:
    assert tax_identity(**args) == expected


@pytest.mark.parametrize(
    ("args", "code", "field"),
    [
        pytest.param(
            {"country": "IN", "state": "MH", "gstin": KA_GSTIN},
            "gstin_state_mismatch",
            "state",
            id="ka-gstin-with-state-MH",
        ),
        pytest.param(
            {"country": "IN", "gstin": KA_GSTIN_BAD_CHECKSUM},
            "invalid_gstin",
            "gstin",
            id="gstin-bad-checksum",
        ),
        pytest.param(
            {"country": "IN", "gstin": "29AAACA1234A1Z"}, "invalid_gstin", "gstin", id="too-short"
        ),
        pytest.param(
            {"country": "IN", "gstin": make_gstin("97")},
            "invalid_gstin",
            "gstin",
            id="gstin-names-no-state",
        ),
        pytest.param(
            {"country": "US", "gstin": KA_GSTIN},
            "gstin_outside_india",
            "gstin",
            id="gstin-for-non-indian",
        ),
        pytest.param(
            {"country": "DE", "gstin": KA_GSTIN, "vat_id": DE_VAT},
            "gstin_outside_india",
            "gstin",
            id="gstin-for-german",
        ),
        pytest.param({"country": "IN"}, "state_required", "state", id="india-without-state"),
        pytest.param(
            {"country": "IN", "sez": True}, "state_required", "state", id="sez-without-state"
        ),
        pytest.param(
            {"country": "IN", "state": "XX"}, "invalid_state", "state", id="unknown-indian-state"
        ),
        pytest.param(
            {"country": "DE", "state": "KA"}, "invalid_state", "state", id="state-of-other-country"
        ),
        pytest.param({"country": "XX"}, "invalid_country", "country", id="unknown-country"),
        pytest.param({"country": "I"}, "invalid_country", "country", id="one-letter-country"),
        pytest.param(
            {"country": "DE", "vat_id": "DE136695977"},
            "invalid_vat_id",
            "vat_id",
            id="vat-bad-checksum",
        ),
        pytest.param(
            {"country": "US", "vat_id": "US123456789"},
            "invalid_vat_id",
            "vat_id",
            id="not-an-eu-vat",
        ),
        pytest.param(
            {"country": "FR", "vat_id": DE_VAT},
            "vat_country_mismatch",
            "vat_id",
            id="german-vat-for-french-customer",
        ),
        pytest.param(
            {"country": "DE", "vat_id": NL_VAT},
            "vat_country_mismatch",
            "vat_id",
            id="dutch-vat-for-german-customer",
        ),
        pytest.param(
            {"country": "IE", "vat_id": GB_VAT},
            "vat_country_mismatch",
            "vat_id",
            id="uk-vat-for-irish-customer",
        ),
        pytest.param(
            {"country": "GB", "vat_id": IE_VAT},
            "vat_country_mismatch",
            "vat_id",
            id="irish-vat-for-uk-customer",
        ),
        pytest.param(
            {"country": "EL", "vat_id": EL_VAT},
            "invalid_country",
            "country",
            id="EL-is-not-a-country-code",
        ),
        pytest.param(
            {"country": "IN", "state": "KA", "vat_id": DE_VAT},
            "vat_country_mismatch",
            "vat_id",
            id="eu-vat-for-indian-customer",
        ),
        pytest.param(
            {"country": "DE", "sez": True}, "sez_outside_india", "sez", id="sez-for-german"
        ),
        pytest.param(
            {"country": "US", "state": "CA", "sez": True},
            "sez_outside_india",
            "sez",
            id="sez-for-american",
        ),
    ],
)
def test_incoherent_tax_identities(args: dict[str, Any], code: str, field: str) -> None:
    error = _error(tax_identity, **args)
    assert error.code == code
    assert [e.loc for e in error.errors] == [("body", field)]


@given(state=st.sampled_from(["29", "27", "07", "33", "36", "09"]), pan=st.just("AAPFU0939F"))
def test_property_gstin_state_is_the_customer_state(state: str, pan: str) -> None:
    identity = tax_identity("IN", None, make_gstin(state, pan))
    assert identity.state is not None
    assert tax_identity("IN", identity.state, make_gstin(state, pan)) == identity


# --- PATCH: the merged identity -------------------------------------------------------------

MH_CONSUMER = TaxIdentity("IN", "MH")
KA_BUSINESS = TaxIdentity("IN", "KA", KA_GSTIN)
DE_BUSINESS = TaxIdentity("DE", vat_id=DE_VAT)


@pytest.mark.parametrize(
    ("current", "changes", "expected"),
    [
        pytest.param(
            MH_CONSUMER, {"gstin": KA_GSTIN}, KA_BUSINESS, id="new-gstin-brings-its-state"
        ),
        pytest.param(
            MH_CONSUMER,
            {"gstin": KA_GSTIN, "state": "KA"},
            KA_BUSINESS,
            id="new-gstin-with-agreeing-state",
        ),
        pytest.param(
            KA_BUSINESS, {"gstin": None}, TaxIdentity("IN", "KA"), id="gstin-removed-state-kept"
        ),
        pytest.param(
            KA_BUSINESS, {"sez": True}, TaxIdentity("IN", "KA", KA_GSTIN, sez=True), id="sez-set"
        ),
        pytest.param(
            MH_CONSUMER,
            {"country": "DE", "state": None, "vat_id": DE_VAT},
            DE_BUSINESS,
            id="moved-to-germany",
        ),
        pytest.param(DE_BUSINESS, {"vat_id": None}, TaxIdentity("DE"), id="vat-removed"),
        pytest.param(MH_CONSUMER, {}, MH_CONSUMER, id="nothing-sent"),
    ],
)
def test_patched_identity(
    current: TaxIdentity, changes: dict[str, Any], expected: TaxIdentity
) -> None:
    assert changed_tax_identity(current, changes) == expected


@pytest.mark.parametrize(
    ("current", "changes", "code"),
    [
        pytest.param(
            MH_CONSUMER,
            {"gstin": KA_GSTIN, "state": "MH"},
            "gstin_state_mismatch",
            id="new-gstin-against-sent-state",
        ),
        pytest.param(KA_BUSINESS, {"state": "MH"}, "gstin_state_mismatch", id="state-vs-gstin"),
        pytest.param(MH_CONSUMER, {"state": None}, "state_required", id="state-removed"),
        pytest.param(
            KA_BUSINESS,
            {"country": "DE", "state": None},
            "gstin_outside_india",
            id="gstin-kept",
        ),
        pytest.param(
            DE_BUSINESS, {"country": "FR"}, "vat_country_mismatch", id="vat-of-old-country"
        ),
        pytest.param(DE_BUSINESS, {"sez": True}, "sez_outside_india", id="sez-for-german"),
    ],
)
def test_patched_identity_is_revalidated(
    current: TaxIdentity, changes: dict[str, Any], code: str
) -> None:
    assert _error(changed_tax_identity, current, changes).code == code


# --- locale and currency --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("en", "en"),
        ("hi", "hi"),
        ("de", "de"),
        ("fr", "fr"),
        ("en-IN", "en_IN"),
        ("en_IN", "en_IN"),
        ("EN-in", "en_IN"),
        ("hi-IN", "hi_IN"),
        ("de-CH", "de_CH"),
        ("zh-Hant-TW", "zh_Hant_TW"),
        ("ta", "ta"),
    ],
)
def test_locale_is_stored_in_cldr_form(raw: str, stored: str) -> None:
    assert locale(raw) == stored


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "x",
        "xx",
        "en-XX",
        "und",
        "root",
        "de-CH-1996",
        "en_IN.UTF-8",
        "en@euro",
        "123",
        "en--IN",
    ],
)
def test_unknown_or_guessed_locales_are_refused(raw: str) -> None:
    assert _error(locale, raw).code == "invalid_locale"


def test_remembered_answers_are_the_rules_own_and_refusals_stay_refusals() -> None:
    """`tax_identity` and `locale` remember what they accepted; what they refuse is refused
    again, each time with an error of its own."""
    for _ in range(2):
        assert tax_identity("in", gstin="27aaaca1234a1zk") == TaxIdentity("IN", "MH", MH_GSTIN)
        assert locale("en-in") == "en_IN"
    first, again = _error(tax_identity, "IN", state="XX"), _error(tax_identity, "IN", state="XX")
    assert first.code == again.code
    assert first is not again
    assert _error(locale, "en-XX") is not _error(locale, "en-XX")


def currency(raw: str) -> str:
    """The shared currency check, as the customer API calls it."""
    return currency_code(raw, ("body", "currency"))


def test_currency_is_upper_iso_4217() -> None:
    assert currency("inr") == "INR"
    assert currency("EUR") == "EUR"
    assert _error(currency, "ABC").code == "invalid_currency"
    assert _error(currency, "XAU").code == "invalid_currency"


# --- metadata -------------------------------------------------------------------------------


def test_metadata_patch_sets_and_removes_keys() -> None:
    assert merged_metadata({"a": "1", "b": "2"}, {"b": None, "c": "3", "zz": None}) == {
        "a": "1",
        "c": "3",
    }


def test_metadata_patch_may_not_pass_the_key_limit() -> None:
    full = {f"k{i}": "v" for i in range(METADATA_MAX_KEYS)}
    assert merged_metadata(full, {"k0": "changed"})["k0"] == "changed"
    assert len(merged_metadata(full, {"k0": None, "new": "v"})) == METADATA_MAX_KEYS
    assert _error(merged_metadata, full, {"one_more": "v"}).code == "metadata_too_many_keys"


# --- payment method tokens ------------------------------------------------------------------


@pytest.mark.parametrize(("token", "kind"), sorted(SANDBOX_TOKENS.items()))
def test_sandbox_tokens_know_their_kind(token: str, kind: str) -> None:
    assert payment_method_type("sandbox", token, None) == kind
    assert payment_method_type("sandbox", token, kind) == kind


def test_the_five_sandbox_tokens_of_the_contract() -> None:
    assert set(SANDBOX_TOKENS) == {
        "pm_card_visa",
        "pm_card_chargeDeclined",
        "pm_card_chargeDeclinedInsufficientFunds",
        "pm_card_authenticationRequired",
        "pm_upi_success",
    }


@pytest.mark.parametrize(
    "token", ["pm_card_mastercard", "PM_CARD_VISA", "tok_visa", "pm_card_visa "]
)
def test_other_sandbox_tokens_are_refused_with_the_list(token: str) -> None:
    error = _error(payment_method_type, "sandbox", token, None)
    assert error.code == "invalid_token"
    assert all(accepted in error.detail for accepted in SANDBOX_TOKENS)


def test_sandbox_token_kind_must_agree() -> None:
    error = _error(payment_method_type, "sandbox", "pm_upi_success", "card")
    assert error.code == "payment_method_type_mismatch"


@pytest.mark.parametrize(
    ("gateway", "token", "requested", "kind"),
    [
        ("stripe", "pm_1PQ2abcDEF", None, "card"),
        ("razorpay", "token_4lsdksD31GaZ09", "upi", "upi"),
        ("stripe", "x" * 255, "card", "card"),
    ],
)
def test_gateway_tokens_of_the_right_shape(
    gateway: str, token: str, requested: str | None, kind: str
) -> None:
    assert payment_method_type(gateway, token, requested) == kind


@pytest.mark.parametrize("token", ["", "x" * 256, "pm 1", "pm_é", "pm\n1", "pm\x7f"])
def test_gateway_tokens_of_the_wrong_shape(token: str) -> None:
    error = _error(payment_method_type, "stripe", token, None)
    assert error.code == "invalid_token"
    assert token not in error.detail or not token
