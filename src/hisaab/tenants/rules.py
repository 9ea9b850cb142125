"""Pure rules for a tenant's profile: what makes a tax identity coherent.

Kept apart from IO so that every combination can be table-tested without a database.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from PIL import Image, UnidentifiedImageError

from hisaab.core.errors import invalid
from hisaab.tax import service as tax

INVOICE_PREFIX = re.compile(r"[A-Z][A-Z0-9]{0,9}")
# Entries of the tz database that name no place: the host's own zone and placeholders.
NOT_A_PLACE = frozenset({"localtime", "posixrules", "Factory"})
# PREFIX/FY/SEQ must fit 16 characters (e-invoice rules): a GST tenant keeps 5 for the prefix.
GST_PREFIX_MAX = 5
# A logo is printed a few centimetres wide: this is plenty, and keeps every PDF small.
LOGO_MAX_BYTES = 256 * 1024
LOGO_MAX_PIXELS = 2000
_LOGO_URL = re.compile(r"data:image/(png|jpeg);base64,([A-Za-z0-9+/=\s]+)")


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


def logo(value: str) -> str:
    """A `data:image/png|jpeg;base64,…` URL that decodes to a real image of a sensible size.

    Checked by decoding it, because a logo that fails later would fail every PDF of the tenant.
    """
    match = _LOGO_URL.fullmatch(value)
    if match is None:
        raise _bad_logo("The logo must be a data URL: data:image/png;base64,… or image/jpeg.")
    try:
        raw = base64.b64decode(match.group(2), validate=False)
    except (binascii.Error, ValueError):
        raise _bad_logo("The logo is not valid base64.") from None
    if len(raw) > LOGO_MAX_BYTES:
        raise _bad_logo(f"The logo is larger than {LOGO_MAX_BYTES // 1024} KiB.")
    try:
        with Image.open(io.BytesIO(raw)) as image:
            image.verify()
            kind, size = (image.format or "").lower(), image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _bad_logo("The logo is not a readable PNG or JPEG image.") from None
    if kind != match.group(1):
        raise _bad_logo(f"The logo says image/{match.group(1)} but is {kind or 'unknown'}.")
    if max(size) > LOGO_MAX_PIXELS:
        raise _bad_logo(f"The logo is larger than {LOGO_MAX_PIXELS} pixels on a side.")
    return f"data:image/{kind};base64,{base64.b64encode(raw).decode()}"


def _bad_logo(detail: str) -> Exception:
    return invalid("invalid_logo", detail, ("body", "logo"))
