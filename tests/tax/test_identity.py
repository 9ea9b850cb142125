"""Tax identities: ISO country/state codes, GSTINs and EU/UK VAT numbers, and the state table."""

from __future__ import annotations

from collections.abc import Callable

import pycountry
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn

from hisaab.tax.identity import (
    EU_MEMBER_STATES,
    REGISTRATION_SCHEMES,
    Gstin,
    TaxIdentityError,
    VatId,
    country_code,
    gstin,
    registration_number,
    state_code,
    vat_id,
)
from hisaab.tax.in_states import BY_GST_CODE, BY_ISO, LEGACY_GST_CODES, STATES, IndianState

GSTIN_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
PAN = "AAACA1234A"  # a company PAN (fourth letter C)
KA_GSTIN = "29AAACA1234A1ZG"


def make_gstin(state_code: str, pan: str = PAN, entity: str = "1") -> str:
    """A GSTIN with a correct Luhn mod 36 check character (as GSTN computes it)."""
    body = f"{state_code}{pan}{entity}Z"
    return body + luhn.calc_check_digit(body, GSTIN_ALPHABET)


def _error(call: Callable[..., object], *args: str) -> TaxIdentityError:
    with pytest.raises(TaxIdentityError) as caught:
        call(*args)
    return caught.value


# --- the state table ------------------------------------------------------------------------


@pytest.mark.parametrize("state", STATES, ids=lambda s: s.iso_code)
def test_every_state_has_an_iso_3166_2_code(state: IndianState) -> None:
    subdivision = pycountry.subdivisions.get(code=f"IN-{state.iso_code}")  # type: ignore[no-untyped-call]
    assert subdivision is not None
    assert subdivision.country_code == "IN"


def test_states_cover_every_iso_subdivision_of_india() -> None:
    iso = {s.code for s in pycountry.subdivisions.get(country_code="IN")}  # type: ignore[no-untyped-call]
    assert {f"IN-{s.iso_code}" for s in STATES} == iso


def test_gst_and_iso_codes_are_unique_and_well_formed() -> None:
    gst_codes = [s.gst_code for s in STATES]
    iso_codes = [s.iso_code for s in STATES]
    assert len(set(gst_codes)) == len(gst_codes)
    assert len(set(iso_codes)) == len(iso_codes)
    assert all(len(c) == 2 and c.isdigit() for c in gst_codes)
    assert all(len(c) == 2 and c.isalpha() and c.isupper() for c in iso_codes)
    assert all(s.name for s in STATES)


def test_lookup_tables() -> None:
    assert BY_ISO["KA"].gst_code == "29"
    assert BY_GST_CODE["29"].iso_code == "KA"
    assert BY_GST_CODE["25"].iso_code == "DH"  # Daman and Diu, merged in 2020
    assert BY_GST_CODE["28"].iso_code == "AP"  # Andhra Pradesh before 2014
    assert set(BY_GST_CODE) == {s.gst_code for s in STATES} | set(LEGACY_GST_CODES)
    assert "97" not in BY_GST_CODE


def test_union_territories_without_legislature() -> None:
    assert {s.iso_code for s in STATES if s.ut_without_legislature} == {
        "CH",
        "DH",
        "LD",
        "AN",
        "LA",
    }


@pytest.mark.parametrize(
    ("gst_code", "iso"),
    [
        ("01", "JK"),
        ("04", "CH"),
        ("07", "DL"),
        ("21", "OD"),
        ("27", "MH"),
        ("29", "KA"),
        ("33", "TN"),
        ("36", "TS"),
        ("37", "AP"),
        ("38", "LA"),
    ],
)
def test_known_gst_state_codes(gst_code: str, iso: str) -> None:
    assert BY_GST_CODE[gst_code].iso_code == iso


# --- country_code / state_code --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("IN", "IN"), ("in", "IN"), (" de ", "DE"), ("Gb", "GB"), ("GR", "GR"), ("us", "US")],
)
def test_country_code(raw: str, expected: str) -> None:
    assert country_code(raw) == expected


@pytest.mark.parametrize("raw", ["", "  ", "I", "IND", "UK", "EL", "EU", "XX", "1N", "I N"])
def test_country_code_rejects(raw: str) -> None:
    error = _error(country_code, raw)
    assert (error.code, error.field) == ("invalid_country", "country")


@pytest.mark.parametrize(
    ("country", "raw", "expected"),
    [
        ("IN", "KA", "KA"),
        ("IN", "IN-KA", "KA"),
        ("IN", "in-ka", "KA"),
        ("IN", " ka ", "KA"),
        ("IN", "TS", "TS"),
        ("IN", "LA", "LA"),
        ("US", "CA", "CA"),
        ("US", "US-NY", "NY"),
        ("DE", "BY", "BY"),
    ],
)
def test_state_code(country: str, raw: str, expected: str) -> None:
    assert state_code(country, raw) == expected


@pytest.mark.parametrize(
    ("country", "raw"),
    [
        ("IN", "XX"),
        ("IN", ""),
        ("IN", "IN-"),
        ("IN", "IN"),
        ("IN", "US-CA"),
        ("IN", "IN-IN-KA"),
        ("IN", "TG"),  # Telangana's old ISO code
        ("IN", "OR"),  # Odisha's old ISO code
        ("IN", "Karnataka"),
        ("IN", "29"),
        ("US", "KA"),
        ("DE", "KA"),
    ],
)
def test_state_code_rejects(country: str, raw: str) -> None:
    error = _error(state_code, country, raw)
    assert (error.code, error.field) == ("invalid_state", "state")


# --- GSTIN ----------------------------------------------------------------------------------


def test_make_gstin_reproduces_a_known_valid_gstin() -> None:
    assert make_gstin("29") == KA_GSTIN
    assert make_gstin("27", "AAPFU0939F") == "27AAPFU0939F1ZV"  # python-stdnum's example


@pytest.mark.parametrize("state", STATES, ids=lambda s: f"{s.gst_code}-{s.iso_code}")
def test_gstin_of_every_state_maps_to_its_iso_state(state: IndianState) -> None:
    number = make_gstin(state.gst_code)
    assert gstin(number) == Gstin(number=number, state=state.iso_code)


def test_ladakh_gstin_is_accepted() -> None:
    """Ladakh has had GST state code 38 since 2020; python-stdnum 2.2's table stops at 37."""
    number = make_gstin("38")
    assert gstin(number) == Gstin(number=number, state="LA")


@pytest.mark.parametrize(("code", "iso"), sorted(LEGACY_GST_CODES.items()))
def test_legacy_state_codes(code: str, iso: str) -> None:
    assert gstin(make_gstin(code)).state == iso


@pytest.mark.parametrize(
    "raw",
    ["29aaaca1234a1zg", " 29AAACA1234A1ZG ", "29 AAACA 1234A 1ZG", "29-AAACA-1234A-1ZG"],
)
def test_gstin_is_normalized(raw: str) -> None:
    assert gstin(raw) == Gstin(number=KA_GSTIN, state="KA")


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "29AAACA1234A1ZH",  # wrong check character
        "29AAACA1234A1Z",  # too short
        "29AAACA1234A1ZGG",  # too long
        "29AAACA1234A0ZG",  # entity number 0
        "29AAACA1234A1YG",  # 14th character is not Z
        make_gstin("97"),  # Other Territory: no state
        make_gstin("99"),
        make_gstin("00"),
        make_gstin("29", "AAAXA1234A"),  # X is no PAN holder type
        "AAACA1234A1ZG29",
        "29AAACA1234A1Z.",
    ],
)
def test_invalid_gstin(raw: str) -> None:
    error = _error(gstin, raw)
    assert (error.code, error.field) == ("invalid_gstin", "gstin")


pan_strategy = st.builds(
    lambda letters, holder, initial, digits, check: letters + holder + initial + digits + check,
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3),
    st.sampled_from("ABCFGHJLPT"),
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    st.integers(min_value=1, max_value=9999).map("{:04d}".format),  # 0000 is no PAN
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
)
all_states = st.sampled_from(STATES)


@settings(max_examples=100)
@given(
    state=all_states,
    pan=pan_strategy,
    entity=st.sampled_from(GSTIN_ALPHABET[1:]),
)
def test_property_valid_gstin_names_its_state(state: IndianState, pan: str, entity: str) -> None:
    number = make_gstin(state.gst_code, pan, entity)
    assert gstin(number.lower()) == Gstin(number, state.iso_code)


@settings(max_examples=100)
@given(
    state=all_states,
    pan=pan_strategy,
    position=st.integers(min_value=0, max_value=14),
    replacement=st.sampled_from(GSTIN_ALPHABET),
)
def test_property_any_single_character_change_is_rejected(
    state: IndianState, pan: str, position: int, replacement: str
) -> None:
    number = make_gstin(state.gst_code, pan)
    if number[position] == replacement:
        replacement = GSTIN_ALPHABET[(GSTIN_ALPHABET.index(replacement) + 1) % 36]
    changed = number[:position] + replacement + number[position + 1 :]
    assert _error(gstin, changed).code == "invalid_gstin"


# --- VAT numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "number", "country"),
    [
        ("DE136695976", "DE136695976", "DE"),
        ("de 136 695 976", "DE136695976", "DE"),
        ("DE-136.695.976", "DE136695976", "DE"),
        ("IE6388047V", "IE6388047V", "IE"),
        ("ATU13585627", "ATU13585627", "AT"),
        ("FR40303265045", "FR40303265045", "FR"),
        ("NL004495445B01", "NL004495445B01", "NL"),
        ("BE0403019261", "BE0403019261", "BE"),
        ("IT00743110157", "IT00743110157", "IT"),
        ("ESB58378431", "ESB58378431", "ES"),
        ("PL8567346215", "PL8567346215", "PL"),
        ("SE556188840401", "SE556188840401", "SE"),
        ("DK13585628", "DK13585628", "DK"),
        ("EL094259216", "EL094259216", "GR"),
        ("el 094 259 216", "EL094259216", "GR"),
        ("GB980780684", "GB980780684", "GB"),
        ("GB 980 7806 84", "GB980780684", "GB"),
        ("XI980780684", "XI980780684", "GB"),
    ],
)
def test_vat_id(raw: str, number: str, country: str) -> None:
    assert vat_id(raw) == VatId(number=number, country=country)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "DE",
        "DE136695977",  # checksum
        "DE13669597",  # length
        "IE6388047W",
        "ATU13585628",
        "EL094259217",
        "GB980780685",
        "XI980780685",
        "136695976",  # no country prefix
        "US123456789",
        "CHE116281710",  # Switzerland is not in the EU
        "IN29AAACA1234A1ZG",
    ],
)
def test_invalid_vat_id(raw: str) -> None:
    error = _error(vat_id, raw)
    assert (error.code, error.field) == ("invalid_vat_id", "vat_id")


def test_vat_id_error_names_the_field_given() -> None:
    with pytest.raises(TaxIdentityError) as caught:
        vat_id("DE136695977", "customer_vat")
    assert caught.value.field == "customer_vat"


def test_eu_member_states() -> None:
    assert len(EU_MEMBER_STATES) == 27
    assert "GR" in EU_MEMBER_STATES
    assert not {"EL", "GB", "UK", "CH", "NO", "XI"} & EU_MEMBER_STATES
    assert all(pycountry.countries.get(alpha_2=c) is not None for c in EU_MEMBER_STATES)


# --- registration_number --------------------------------------------------------------------


def test_registration_schemes() -> None:
    assert set(REGISTRATION_SCHEMES) == {"in_gst", "eu_vat", "eu_oss", "gb_vat"}


@pytest.mark.parametrize(
    ("scheme", "raw", "expected"),
    [
        ("in_gst", "29aaaca1234a1zg", KA_GSTIN),
        ("in_gst", make_gstin("27"), make_gstin("27")),
        ("eu_vat", "de 136695976", "DE136695976"),
        ("eu_vat", "EL094259216", "EL094259216"),
        ("eu_vat", "IE6388047V", "IE6388047V"),
        ("gb_vat", "gb980780684", "GB980780684"),
        ("gb_vat", "XI980780684", "XI980780684"),
        ("eu_oss", "EU372000041", "EU372000041"),
        ("eu_oss", " eu372000041 ", "EU372000041"),
        ("eu_oss", "EU000000000", "EU000000000"),
    ],
)
def test_registration_number(scheme: str, raw: str, expected: str) -> None:
    assert registration_number(scheme, raw) == expected


@pytest.mark.parametrize(
    ("scheme", "raw", "code", "field"),
    [
        ("in_gst", "29AAACA1234A1ZH", "invalid_gstin", "gstin"),
        ("eu_vat", "DE136695977", "invalid_vat_id", "tax_registrations"),
        ("eu_vat", "GB980780684", "invalid_vat_id", "tax_registrations"),
        ("eu_vat", "XI980780684", "invalid_vat_id", "tax_registrations"),
        ("gb_vat", "DE136695976", "invalid_vat_id", "tax_registrations"),
        ("gb_vat", "GB980780685", "invalid_vat_id", "tax_registrations"),
        ("eu_oss", "EU12345678", "invalid_registration", "tax_registrations"),
        ("eu_oss", "EU1234567890", "invalid_registration", "tax_registrations"),
        ("eu_oss", "EUA23456789", "invalid_registration", "tax_registrations"),
        ("eu_oss", "DE123456789", "invalid_registration", "tax_registrations"),
        ("eu_oss", "123456789", "invalid_registration", "tax_registrations"),
        ("eu_oss", "EU 123 456 789", "invalid_registration", "tax_registrations"),
        ("eu_oss", "", "invalid_registration", "tax_registrations"),
        ("us_sales_tax", "123", "invalid_registration", "tax_registrations"),
        ("", "EU123456789", "invalid_registration", "tax_registrations"),
        ("EU_OSS", "EU123456789", "invalid_registration", "tax_registrations"),
    ],
)
def test_registration_number_rejects(scheme: str, raw: str, code: str, field: str) -> None:
    error = _error(registration_number, scheme, raw)
    assert (error.code, error.field) == (code, field)


@pytest.mark.parametrize(
    "raw",
    ["EU" + "".join(chr(zero + d) for d in range(1, 10)) for zero in (0x0660, 0xFF10, 0x0966)],
    ids=["arabic-indic", "fullwidth", "devanagari"],
)
def test_eu_oss_number_needs_ascii_digits(raw: str) -> None:
    """EU + 9 digits means ASCII digits; `\\d` in a str pattern also matches other scripts."""
    error = _error(registration_number, "eu_oss", raw)
    assert error.code == "invalid_registration"


@settings(max_examples=100)
@given(digits=st.text("0123456789", min_size=9, max_size=9))
def test_property_eu_oss_accepts_any_nine_ascii_digits(digits: str) -> None:
    assert registration_number("eu_oss", f"eu{digits}") == f"EU{digits}"


def test_tax_identity_error_is_a_value_error_with_code_and_field() -> None:
    error = TaxIdentityError("invalid_gstin", "gstin", "bad")
    assert isinstance(error, ValueError)
    assert (error.code, error.field, str(error)) == ("invalid_gstin", "gstin", "bad")
