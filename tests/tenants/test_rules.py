"""Pure tenant-profile rules: a coherent tax identity, timezone, currency and invoice prefix."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn

from hisaab.core.errors import HisaabError
from hisaab.core.money import currency_code
from hisaab.tenants.rules import TaxProfile, invoice_prefix, tax_profile, timezone_name

KA_GSTIN = "29AAACA1234A1ZG"
MH_GSTIN = "27AAACA1234A1ZK"
DE_VAT = "DE136695976"
FR_VAT = "FR40303265045"
IE_VAT = "IE6388047V"
EL_VAT = "EL094259216"
GB_VAT = "GB980780684"
OSS = "EU372000041"


def make_gstin(state_code: str, pan: str) -> str:
    body = f"{state_code}{pan}1Z"
    return body + luhn.calc_check_digit(body, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


OTHER_KA_GSTIN = make_gstin("29", "AAPFU0939F")


def _error(call: Callable[..., Any], *args: Any) -> HisaabError:
    with pytest.raises(HisaabError) as caught:
        call(*args)
    return caught.value


# --- tax_profile: coherent identities -------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            ("IN", "KA", KA_GSTIN, False, []),
            TaxProfile("IN", "KA", KA_GSTIN, False, (("in_gst", KA_GSTIN),)),
            id="gstin-implies-in_gst-registration",
        ),
        pytest.param(
            ("IN", None, KA_GSTIN, True, []),
            TaxProfile("IN", "KA", KA_GSTIN, True, (("in_gst", KA_GSTIN),)),
            id="gstin-implies-state",
        ),
        pytest.param(
            ("in", "in-ka", KA_GSTIN.lower(), False, [("in_gst", "29 AAACA 1234A 1ZG")]),
            TaxProfile("IN", "KA", KA_GSTIN, False, (("in_gst", KA_GSTIN),)),
            id="normalized-inputs-and-matching-in_gst",
        ),
        pytest.param(
            ("IN", "MH", MH_GSTIN, True, [("in_gst", MH_GSTIN)]),
            TaxProfile("IN", "MH", MH_GSTIN, True, (("in_gst", MH_GSTIN),)),
            id="lut-with-gstin",
        ),
        pytest.param(
            ("IN", "MH", None, False, []),
            TaxProfile("IN", "MH", None, False, ()),
            id="unregistered-indian-tenant",
        ),
        pytest.param(
            ("IN", "KA", KA_GSTIN, False, [("gb_vat", GB_VAT), ("eu_oss", OSS)]),
            TaxProfile(
                "IN",
                "KA",
                KA_GSTIN,
                False,
                (("eu_oss", OSS), ("gb_vat", GB_VAT), ("in_gst", KA_GSTIN)),
            ),
            id="indian-tenant-with-oss-and-uk-vat",
        ),
        pytest.param(
            ("DE", None, None, False, [("eu_vat", "de 136 695 976")]),
            TaxProfile("DE", None, None, False, (("eu_vat", DE_VAT),)),
            id="german-tenant-own-vat",
        ),
        pytest.param(
            ("DE", "BY", None, False, [("eu_vat", DE_VAT), ("gb_vat", GB_VAT)]),
            TaxProfile("DE", "BY", None, False, (("eu_vat", DE_VAT), ("gb_vat", GB_VAT))),
            id="german-tenant-also-uk-registered",
        ),
        pytest.param(
            ("GR", None, None, False, [("eu_vat", EL_VAT)]),
            TaxProfile("GR", None, None, False, (("eu_vat", EL_VAT),)),
            id="greek-tenant-el-number",
        ),
        pytest.param(
            ("IE", None, None, False, [("eu_vat", IE_VAT)]),
            TaxProfile("IE", None, None, False, (("eu_vat", IE_VAT),)),
            id="irish-tenant",
        ),
        pytest.param(
            ("US", "CA", None, False, [("eu_oss", "eu372000041")]),
            TaxProfile("US", "CA", None, False, (("eu_oss", OSS),)),
            id="us-tenant-non-union-oss",
        ),
        pytest.param(
            ("US", None, None, False, []),
            TaxProfile("US", None, None, False, ()),
            id="us-tenant-no-state-needed",
        ),
        pytest.param(
            ("GB", None, None, False, [("gb_vat", "gb 980 7806 84")]),
            TaxProfile("GB", None, None, False, (("gb_vat", GB_VAT),)),
            id="uk-tenant-gb-vat",
        ),
        pytest.param(
            ("GB", None, None, False, [("gb_vat", GB_VAT), ("eu_oss", OSS)]),
            TaxProfile("GB", None, None, False, (("eu_oss", OSS), ("gb_vat", GB_VAT))),
            id="uk-tenant-gb-vat-and-oss",
        ),
    ],
)
def test_tax_profile_accepts(args: tuple[Any, ...], expected: TaxProfile) -> None:
    assert tax_profile(*args) == expected


# --- tax_profile: incoherent identities -----------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "field"),
    [
        pytest.param(("IN", "MH", KA_GSTIN, False, []), "gstin_state_mismatch", "state",
                     id="state-mismatch"),
        pytest.param(("IN", "IN-MH", KA_GSTIN, True, []), "gstin_state_mismatch", "state",
                     id="state-mismatch-iso-form"),
        pytest.param(("US", None, KA_GSTIN, False, []), "gstin_outside_india", "gstin",
                     id="gstin-in-us"),
        pytest.param(("DE", None, KA_GSTIN, False, []), "gstin_outside_india", "gstin",
                     id="gstin-in-germany"),
        pytest.param(("IN", None, None, False, []), "state_required", "state",
                     id="indian-tenant-no-state"),
        pytest.param(("IN", None, None, False, [("eu_oss", OSS)]), "state_required", "state",
                     id="indian-tenant-no-state-with-oss"),
        pytest.param(("IN", "KA", None, True, []), "lut_requires_gstin", "lut",
                     id="lut-without-gstin"),
        pytest.param(("US", None, None, True, []), "lut_requires_gstin", "lut",
                     id="lut-outside-india"),
        pytest.param(("DE", None, None, False, [("eu_vat", DE_VAT), ("eu_vat", "DE 136695976")]),
                     "duplicate_registration", "tax_registrations", id="duplicate-eu_vat"),
        pytest.param(("GB", None, None, False, [("gb_vat", GB_VAT), ("gb_vat", GB_VAT)]),
                     "duplicate_registration", "tax_registrations", id="duplicate-gb_vat"),
        pytest.param(("US", None, None, False, [("eu_oss", OSS), ("eu_oss", "EU372000042")]),
                     "duplicate_registration", "tax_registrations", id="duplicate-eu_oss"),
        pytest.param(("IN", "KA", KA_GSTIN, False, [("in_gst", OTHER_KA_GSTIN)]),
                     "gstin_mismatch", "tax_registrations", id="in_gst-differs-from-gstin"),
        pytest.param(("IN", "KA", None, False, [("in_gst", KA_GSTIN)]),
                     "gstin_mismatch", "tax_registrations", id="in_gst-without-gstin"),
        pytest.param(("US", None, None, False, [("in_gst", KA_GSTIN)]),
                     "gstin_mismatch", "tax_registrations", id="in_gst-outside-india"),
        pytest.param(("DE", None, None, False, [("eu_vat", FR_VAT)]),
                     "vat_country_mismatch", "tax_registrations", id="german-tenant-french-vat"),
        pytest.param(("DE", None, None, False, [("eu_vat", EL_VAT)]),
                     "vat_country_mismatch", "tax_registrations", id="german-tenant-el-vat"),
        pytest.param(("GR", None, None, False, [("eu_vat", DE_VAT)]),
                     "vat_country_mismatch", "tax_registrations", id="greek-tenant-german-vat"),
        pytest.param(("US", None, None, False, [("eu_vat", DE_VAT)]),
                     "vat_country_mismatch", "tax_registrations", id="us-tenant-eu_vat"),
        pytest.param(("GB", None, None, False, [("eu_vat", IE_VAT)]),
                     "vat_country_mismatch", "tax_registrations", id="uk-tenant-eu_vat"),
        pytest.param(("IN", "KA", KA_GSTIN, False, [("eu_vat", DE_VAT)]),
                     "vat_country_mismatch", "tax_registrations", id="indian-tenant-eu_vat"),
        pytest.param(("DE", None, None, False, [("eu_oss", OSS)]),
                     "oss_scheme_mismatch", "tax_registrations", id="german-tenant-oss"),
        pytest.param(("GR", None, None, False, [("eu_vat", EL_VAT), ("eu_oss", OSS)]),
                     "oss_scheme_mismatch", "tax_registrations", id="greek-tenant-oss"),
        pytest.param(("IE", None, None, False, [("eu_oss", OSS)]),
                     "oss_scheme_mismatch", "tax_registrations", id="irish-tenant-oss"),
        # identity errors surface with their own codes
        pytest.param(("XX", None, None, False, []), "invalid_country", "country",
                     id="bad-country"),
        pytest.param(("UK", None, None, False, []), "invalid_country", "country",
                     id="uk-is-not-iso"),
        pytest.param(("IN", "ZZ", None, False, []), "invalid_state", "state", id="bad-state"),
        pytest.param(("US", "KA", None, False, []), "invalid_state", "state",
                     id="state-of-another-country"),
        pytest.param(("IN", "KA", "29AAACA1234A1ZH", False, []), "invalid_gstin", "gstin",
                     id="bad-gstin-checksum"),
        pytest.param(("DE", None, None, False, [("eu_vat", "DE136695977")]),
                     "invalid_vat_id", "tax_registrations", id="bad-vat-checksum"),
        pytest.param(("GB", None, None, False, [("eu_vat", GB_VAT)]),
                     "invalid_vat_id", "tax_registrations", id="gb-number-as-eu_vat"),
        pytest.param(("US", None, None, False, [("eu_oss", "EU12345678")]),
                     "invalid_registration", "tax_registrations", id="bad-oss-format"),
        pytest.param(("US", None, None, False, [("us_sales_tax", "12-3456789")]),
                     "invalid_registration", "tax_registrations", id="unknown-scheme"),
    ],
)  # fmt: skip
def test_tax_profile_rejects(args: tuple[Any, ...], code: str, field: str) -> None:
    error = _error(tax_profile, *args)
    assert error.code == code
    assert error.status == 422
    assert [e.loc for e in error.errors] == [("body", field)]
    assert error.problem()["code"] == code


@settings(max_examples=50)
@given(
    state=st.sampled_from(["KA", "MH", "TN", "DL", "GJ", "WB"]),
    gstin_state=st.sampled_from(["KA", "MH", "TN", "DL", "GJ", "WB"]),
)
def test_property_gstin_state_must_match_given_state(state: str, gstin_state: str) -> None:
    codes = {"KA": "29", "MH": "27", "TN": "33", "DL": "07", "GJ": "24", "WB": "19"}
    number = make_gstin(codes[gstin_state], "AAACA1234A")
    if state == gstin_state:
        profile = tax_profile("IN", state, number, False, [])
        assert (profile.state, profile.gstin) == (state, number)
        assert profile.registrations == (("in_gst", number),)
    else:
        assert _error(tax_profile, "IN", state, number, False, []).code == "gstin_state_mismatch"


# --- timezone -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["Asia/Kolkata", "UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"]
)
def test_timezone_name_accepts_iana_names(name: str) -> None:
    assert timezone_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "IST",
        "Asia/Bangalore",
        "asia/kolkata",
        "Asia/Kolkata ",
        "+05:30",
        "UTC+5:30",
        "../../etc/passwd",
        "/etc/localtime",
        "Asia/",
        "Asia",
    ],
)
def test_timezone_name_rejects(name: str) -> None:
    error = _error(timezone_name, name)
    assert (error.code, error.status) == ("invalid_timezone", 422)
    assert [e.loc for e in error.errors] == [("body", "timezone")]


def test_timezone_name_rejects_the_hosts_localtime_alias() -> None:
    """`localtime` is a copy of the server's own zone, not an IANA name: a tenant on it would
    change timezone whenever the host does."""
    error = _error(timezone_name, "localtime")
    assert error.code == "invalid_timezone"


# --- currency (the shared check, as tenants call it) -----------------------------------------


def currency(raw: str) -> str:
    return currency_code(raw, ("body", "base_currency"))


@pytest.mark.parametrize(("raw", "expected"), [("INR", "INR"), ("inr", "INR"), ("eur", "EUR")])
def test_currency(raw: str, expected: str) -> None:
    assert currency(raw) == expected


@pytest.mark.parametrize("raw", ["", "RS", "RUPEE", "ZZZ", "₹"])
def test_currency_rejects(raw: str) -> None:
    error = _error(currency, raw)
    assert (error.code, error.status) == ("invalid_currency", 422)
    assert [e.loc for e in error.errors] == [("body", "base_currency")]


# --- invoice prefix -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "name", "gst_tenant", "expected"),
    [
        (None, "Acme Learning Pvt Ltd", True, "ACMEL"),
        (None, "Acme Learning Pvt Ltd", False, "ACMELE"),
        (None, "acme", False, "ACME"),
        (None, "acme", True, "ACME"),
        (None, "42 Labs", False, "LABS"),
        (None, "A1 Traders", True, "A1TRA"),
        (None, "Zoë & Co.", False, "ZOCO"),
        (None, "123", False, "INV"),
        (None, "", True, "INV"),
        (None, "!!!", False, "INV"),
        (None, "किताब घर", False, "INV"),
        ("acme", "Whatever Ltd", False, "ACME"),
        ("inv2024", "Whatever Ltd", False, "INV2024"),
        ("ABCDEFGHIJ", "Whatever Ltd", False, "ABCDEFGHIJ"),
        ("ABCDE", "Whatever Ltd", True, "ABCDE"),
        ("a", "Whatever Ltd", True, "A"),
    ],
)
def test_invoice_prefix(value: str | None, name: str, gst_tenant: bool, expected: str) -> None:
    assert invoice_prefix(value, name, gst_tenant) == expected


@pytest.mark.parametrize(
    ("value", "gst_tenant"),
    [
        ("", False),
        ("1ACME", False),
        ("AC-ME", False),
        ("AC ME", False),
        ("ACME/", False),
        (" ACME", False),
        ("ABCDEFGHIJK", False),  # 11 characters
        ("ÄCME", False),
        ("ABCDEF", True),  # a GST tenant keeps 5
        ("ABCDEFGHIJ", True),
        ("ACME\n", False),
        ("ACME\n", True),
    ],
)
def test_invoice_prefix_rejects(value: str, gst_tenant: bool) -> None:
    error = _error(invoice_prefix, value, "Acme", gst_tenant)
    assert (error.code, error.status) == ("invalid_invoice_prefix", 422)
    assert [e.loc for e in error.errors] == [("body", "invoice_prefix")]


@settings(max_examples=100)
@given(name=st.text(max_size=40), gst_tenant=st.booleans())
def test_property_default_prefix_is_valid_and_stable(name: str, gst_tenant: bool) -> None:
    prefix = invoice_prefix(None, name, gst_tenant)
    assert re.fullmatch(r"[A-Z][A-Z0-9]*", prefix)
    assert len(prefix) <= (5 if gst_tenant else 6)
    assert invoice_prefix(prefix, name, gst_tenant) == prefix


@settings(max_examples=100)
@given(
    value=st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,9}", fullmatch=True),
    gst_tenant=st.booleans(),
)
def test_property_explicit_prefix_upper_cased_or_too_long(value: str, gst_tenant: bool) -> None:
    if gst_tenant and len(value) > 5:
        assert _error(invoice_prefix, value, "Acme", gst_tenant).code == "invalid_invoice_prefix"
    else:
        assert invoice_prefix(value, "Acme", gst_tenant) == value.upper()
