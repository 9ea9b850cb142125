"""Pure rules for a tenant's profile: what makes a tax identity coherent.

Kept apart from IO so that every combination can be table-tested without a database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from hisaab.core.errors import invalid
from hisaab.core.money import CurrencyError, normalize_currency
from hisaab.tax import service as tax

INVOICE_PREFIX = re.compile(r"[A-Z][A-Z0-9]{0,9}")
# Entries of the tz database that name no place: the host's own zone and placeholders.
NOT_A_PLACE = frozenset({"localtime", "posixrules", "Factory"})
# PREFIX/FY/SEQ must fit 16 characters (e-invoice rules): a GST tenant keeps 5 for the prefix.
GST_PREFIX_MAX = 5


@dataclass(frozen=True)
class TaxProfile:
    country: str
    state: str | None
    gstin: str | None
    lut: bool
    registrations: tuple[tuple[str, str], ...]


def tax_profile(
    country: str,
    state: str | None,
    gstin: str | None,
    lut: bool,
    registrations: list[tuple[str, str]],
) -> TaxProfile:
    """Validate and normalize a tenant's tax identity; raises 422 with a precise code."""
    try:
        where = tax.location(country, state, gstin, "tenant")
        normalized = [
            (scheme, tax.registration_number(scheme, number)) for scheme, number in registrations
        ]
    except tax.TaxIdentityError as exc:
        raise exc.as_invalid() from None
    country_code, state_code, gst = where.country, where.state, where.gstin
    if lut and gst is None:
        raise invalid(
            "lut_requires_gstin", "A Letter of Undertaking needs a GSTIN.", ("body", "lut")
        )
    schemes: dict[str, str] = {}
    for scheme, number in normalized:
        if scheme in schemes:
            raise invalid(
                "duplicate_registration",
                f"Two {scheme} registrations.",
                ("body", "tax_registrations"),
            )
        schemes[scheme] = number
    if "in_gst" in schemes and schemes["in_gst"] != (gst.number if gst else None):
        raise invalid(
            "gstin_mismatch",
            "The in_gst registration must be the tenant's gstin.",
            ("body", "tax_registrations"),
        )
    if gst is not None:
        schemes["in_gst"] = gst.number
    if "eu_vat" in schemes and tax.vat_id(schemes["eu_vat"]).country != country_code:
        raise invalid(
            "vat_country_mismatch",
            "An eu_vat registration is a VAT number of the member state where the tenant "
            "is established.",
            ("body", "tax_registrations"),
        )
    if "eu_oss" in schemes and country_code in tax.EU_MEMBER_STATES:
        raise invalid(
            "oss_scheme_mismatch",
            "Non-Union OSS is for tenants established outside the EU; use eu_vat.",
            ("body", "tax_registrations"),
        )
    return TaxProfile(
        country=country_code,
        state=state_code,
        gstin=gst.number if gst else None,
        lut=lut,
        registrations=tuple(sorted(schemes.items())),
    )


def timezone_name(value: str) -> str:
    if value in NOT_A_PLACE or value not in available_timezones():
        raise invalid(
            "invalid_timezone", f"{value!r} is not an IANA timezone.", ("body", "timezone")
        )
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid(
            "invalid_timezone", f"{value!r} is not an IANA timezone.", ("body", "timezone")
        ) from None
    return value


def currency(value: str) -> str:
    try:
        return normalize_currency(value)
    except CurrencyError:
        raise invalid(
            "invalid_currency", f"{value!r} is not an ISO 4217 currency.", ("body", "base_currency")
        ) from None


def invoice_prefix(value: str | None, name: str, gst_tenant: bool) -> str:
    """The tenant's invoice prefix; by default the first letters of its name."""
    if value is None:
        letters = re.sub(r"[^A-Z0-9]", "", name.upper()).lstrip("0123456789")
        value = (letters or "INV")[: GST_PREFIX_MAX if gst_tenant else 6]
    prefix = value.upper()
    if not INVOICE_PREFIX.fullmatch(prefix):
        raise invalid(
            "invalid_invoice_prefix",
            "An invoice prefix is 1-10 characters A-Z and 0-9, starting with a letter.",
            ("body", "invoice_prefix"),
        )
    if gst_tenant and len(prefix) > GST_PREFIX_MAX:
        raise invalid(
            "invalid_invoice_prefix",
            f"With a GSTIN the prefix is at most {GST_PREFIX_MAX} characters, so that "
            "PREFIX/FY/SEQ fits the 16 characters GST allows.",
            ("body", "invoice_prefix"),
        )
    return prefix
