"""Pure checks of who someone is for tax: country, state, GSTIN, VAT numbers.

Checksums and formats come from python-stdnum and ISO codes from pycountry; what stays here is the
few rules that tie them together (a GSTIN's state code fixes the state).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pycountry
from stdnum import exceptions as stdnum_errors
from stdnum import luhn
from stdnum.eu import vat as eu_vat
from stdnum.gb import vat as gb_vat
from stdnum.in_ import gstin as in_gstin
from stdnum.in_ import pan as in_pan

from hisaab.core.errors import HisaabError, invalid
from hisaab.tax.in_states import BY_GST_CODE

EU_MEMBER_STATES = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    }
)  # fmt: skip
REGISTRATION_SCHEMES = ("in_gst", "eu_vat", "eu_oss", "gb_vat")
_NON_UNION_OSS = re.compile(r"EU[0-9]{9}")
_GSTIN_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class TaxIdentityError(ValueError):
    """A tax identity that cannot be right; `code` is the API error code, `field` the input."""

    def __init__(self, code: str, field: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.field = field

    def as_invalid(self) -> HisaabError:
        """The 422 a request body with this identity gets, pointing at the field."""
        return invalid(self.code, str(self), ("body", self.field))


def country_code(value: str) -> str:
    """ISO 3166-1 alpha-2, upper case (`in` → `IN`)."""
    code = value.strip().upper()
    found = pycountry.countries.get(alpha_2=code) if len(code) == 2 else None
    if found is None:
        raise TaxIdentityError(
            "invalid_country", "country", f"{value!r} is not an ISO 3166-1 country code"
        )
    return code


def state_code(country: str, value: str) -> str:
    """The subdivision part of ISO 3166-2 (`KA` for `IN-KA`); `IN-KA` is accepted too."""
    code = value.strip().upper()
    if code.startswith(f"{country}-"):
        code = code[len(country) + 1 :]
    subdivision = pycountry.subdivisions.get(code=f"{country}-{code}")  # type: ignore[no-untyped-call]
    if subdivision is None:
        raise TaxIdentityError(
            "invalid_state", "state", f"{value!r} is not an ISO 3166-2 subdivision of {country}"
        )
    return code


@dataclass(frozen=True)
class Gstin:
    number: str
    state: str  # ISO 3166-2 subdivision code, e.g. KA


def _validate_gstin(value: str) -> str:
    """python-stdnum's GSTIN check, extended to state codes its table lacks (38, Ladakh): the
    same PAN, format and check-digit rules, applied with stdnum's own pieces."""
    try:
        return str(in_gstin.validate(value))
    except stdnum_errors.InvalidComponent:
        number = str(in_gstin.compact(value))
        if number[:2] not in BY_GST_CODE or number[12] == "0" or number[13] != "Z":
            raise
        in_pan.validate(number[2:12])
        luhn.validate(number, _GSTIN_ALPHABET)
        return number


def gstin(value: str) -> Gstin:
    """A valid GSTIN and the state its first two digits name."""
    try:
        number = _validate_gstin(value)
    except stdnum_errors.ValidationError as exc:
        raise TaxIdentityError(
            "invalid_gstin", "gstin", f"{value!r} is not a valid GSTIN: {exc}"
        ) from None
    state = BY_GST_CODE.get(number[:2])
    if state is None:
        raise TaxIdentityError(
            "invalid_gstin",
            "gstin",
            f"GSTIN {number} has state code {number[:2]}, which names no state",
        )
    return Gstin(number=number, state=state.iso_code)


@dataclass(frozen=True)
class VatId:
    number: str  # with its country prefix, e.g. DE136695976
    country: str  # ISO country of the number (GR for EL)


def vat_id(value: str, field: str = "vat_id") -> VatId:
    """A VAT number of an EU member state or the UK, with a valid checksum."""
    compact = re.sub(r"[\s.\-]", "", value).upper()
    try:
        if compact.startswith(("GB", "XI")):
            number = compact[:2] + gb_vat.validate(compact[2:])
            return VatId(number=number, country="GB")
        number = eu_vat.validate(compact)
    except stdnum_errors.ValidationError as exc:
        raise TaxIdentityError(
            "invalid_vat_id", field, f"{value!r} is not a valid VAT number: {exc}"
        ) from None
    prefix = number[:2]
    country = "GR" if prefix == "EL" else prefix
    if country not in EU_MEMBER_STATES:
        raise TaxIdentityError("invalid_vat_id", field, f"{value!r} is not an EU or UK VAT number")
    return VatId(number=number, country=country)


def registration_number(scheme: str, number: str) -> str:
    """The normalized number of one tax registration, checked for its scheme."""
    field = "tax_registrations"
    if scheme == "in_gst":
        return gstin(number).number
    if scheme == "eu_vat":
        vat = vat_id(number, field)
        if vat.country == "GB":
            raise TaxIdentityError(
                "invalid_vat_id", field, "an eu_vat registration needs an EU VAT number"
            )
        return vat.number
    if scheme == "gb_vat":
        vat = vat_id(number, field)
        if vat.country != "GB":
            raise TaxIdentityError(
                "invalid_vat_id", field, "a gb_vat registration needs a UK VAT number"
            )
        return vat.number
    if scheme == "eu_oss":
        compact = number.strip().upper()
        if not _NON_UNION_OSS.fullmatch(compact):
            raise TaxIdentityError(
                "invalid_registration", field, "a non-Union OSS number has the form EU + 9 digits"
            )
        return compact
    raise TaxIdentityError("invalid_registration", field, f"unknown tax scheme {scheme!r}")


@dataclass(frozen=True)
class Location:
    """Where a party (tenant or customer) is for tax."""

    country: str
    state: str | None
    gstin: Gstin | None


def location(country: str, state: str | None, gstin_number: str | None, party: str) -> Location:
    """Country, state and GSTIN checked against each other.

    A GSTIN's state code fixes the state (a different `state` is refused, not overridden), and a
    party in India needs its state: it decides the place of supply between CGST+SGST and IGST.
    `party` names who is described ("tenant", "customer") in the messages.
    """
    country = country_code(country)
    state = state_code(country, state) if state else None
    gst = gstin(gstin_number) if gstin_number else None
    if gst is not None:
        if country != "IN":
            raise TaxIdentityError(
                "gstin_outside_india", "gstin", f"A GSTIN belongs to a {party} in India."
            )
        if state is not None and state != gst.state:
            raise TaxIdentityError(
                "gstin_state_mismatch",
                "state",
                f"GSTIN {gst.number} is registered in state {gst.state}, not {state}.",
            )
        state = gst.state
    if country == "IN" and state is None:
        raise TaxIdentityError(
            "state_required",
            "state",
            f"An Indian {party} without a GSTIN needs its state: it is the place of supply.",
        )
    return Location(country, state, gst)
