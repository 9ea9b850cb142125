"""Pure rules for a customer: a coherent tax identity, its locale, currency, metadata and tokens.

Kept apart from IO so that every combination can be table-tested without a database. The tax
identity decides how every invoice of the customer is taxed (API.md "Tax"), so it is validated
as a whole, on create and again on every change.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from babel import Locale, UnknownLocaleError

from hisaab.core.errors import invalid
from hisaab.tax import service as tax

# Stripe's limits, so that metadata copied from (or to) Stripe always fits.
METADATA_MAX_KEYS = 50
METADATA_MAX_KEY_LENGTH = 40
METADATA_MAX_VALUE_LENGTH = 500

# Language, then script/territory/variant subtags; separators `-` (BCP 47) or `_` (CLDR).
_LOCALE_SHAPE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")

# The sandbox gateway's test payment methods (API.md) and the kind of instrument each is.
SANDBOX_TOKENS: Mapping[str, str] = {
    "pm_card_visa": "card",
    "pm_card_chargeDeclined": "card",
    "pm_card_chargeDeclinedInsufficientFunds": "card",
    "pm_card_authenticationRequired": "card",
    "pm_upi_success": "upi",
}
GATEWAY_TOKEN = re.compile(r"[\x21-\x7e]{1,255}")


@dataclass(frozen=True)
class TaxIdentity:
    """Who the customer is for tax: the inputs of place of supply and reverse charge."""

    country: str
    state: str | None = None
    gstin: str | None = None
    vat_id: str | None = None
    sez: bool = False


@functools.lru_cache(maxsize=4096)
def tax_identity(
    country: str,
    state: str | None = None,
    gstin: str | None = None,
    vat_id: str | None = None,
    sez: bool = False,
) -> TaxIdentity:
    """Validate and normalize a customer's tax identity; raises 422 with a precise code.

    The codes are the tenant rules' own (`gstin_state_mismatch`, `state_required`, …), so a
    client handles a bad GSTIN the same way wherever it sent one. An identity found valid is
    remembered (a refusal is not: it raises anew): the rule is pure, and most customers of a
    tenant share a few identities.
    """
    try:
        where = tax.location(country, state, gstin, "customer")
        vat = tax.vat_id(vat_id) if vat_id else None
    except tax.TaxIdentityError as exc:
        raise exc.as_invalid() from None
    country_code, state_code, gst = where.country, where.state, where.gstin
    if vat is not None and vat.country != country_code:
        raise invalid(
            "vat_country_mismatch",
            f"VAT number {vat.number} belongs to {vat.country}, not to the customer's country "
            f"{country_code}.",
            ("body", "vat_id"),
        )
    if sez and country_code != "IN":
        raise invalid(
            "sez_outside_india",
            "Only an Indian customer can be a Special Economic Zone unit.",
            ("body", "sez"),
        )
    return TaxIdentity(
        country=country_code,
        state=state_code,
        gstin=gst.number if gst else None,
        vat_id=vat.number if vat else None,
        sez=sez,
    )


def changed_tax_identity(current: TaxIdentity, changes: Mapping[str, Any]) -> TaxIdentity:
    """The identity after a PATCH that sent `changes` (only the fields it sent), re-validated.

    A new GSTIN brings its own state: the stored state is dropped unless the PATCH also names
    one, which must then agree. Everything else is kept unless sent.
    """
    merged = replace(current, **changes)
    if changes.get("gstin") and "state" not in changes:
        merged = replace(merged, state=None)
    return tax_identity(merged.country, merged.state, merged.gstin, merged.vat_id, merged.sez)


@functools.lru_cache(maxsize=1024)
def locale(value: str) -> str:
    """A locale Babel has data for, stored as its CLDR identifier (`en-in` → `en_IN`).

    The CLDR form is what Babel's formatting (`Money.format`) takes as is. Input that Babel would
    only accept by changing it (`und` → `en_US`, a dropped variant) is refused, not guessed.
    Remembered per text (a refusal is not: it raises anew): Babel's answer never changes, and
    parsing costs more than the rest of creating a customer's rules.
    """
    error = invalid(
        "invalid_locale",
        f"{value!r} is not a locale such as en, hi, de, fr or en-IN.",
        ("body", "locale"),
    )
    if not _LOCALE_SHAPE.fullmatch(value):
        raise error
    wanted = value.replace("-", "_")
    try:
        found = str(Locale.parse(wanted))
    except (UnknownLocaleError, ValueError):
        raise error from None
    if found.lower() != wanted.lower():
        raise error
    return found


def merged_metadata(
    current: Mapping[str, str], changes: Mapping[str, str | None]
) -> dict[str, str]:
    """Stripe's PATCH semantics: sent keys are set, keys sent as null are removed."""
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > METADATA_MAX_KEYS:
        raise invalid(
            "metadata_too_many_keys",
            f"Metadata holds at most {METADATA_MAX_KEYS} keys; this change would make "
            f"{len(merged)}.",
            ("body", "metadata"),
        )
    return merged


def payment_method_type(gateway: str, token: str, requested: str | None) -> str:
    """The instrument kind of a gateway token, refusing tokens that cannot be one.

    Sandbox tokens are a closed list. Stripe and Razorpay tokens are only checked for shape here:
    asking the gateway whether the token exists comes with the payments domain.
    """
    if gateway == "sandbox":
        kind = SANDBOX_TOKENS.get(token)
        if kind is None:
            accepted = ", ".join(SANDBOX_TOKENS)
            raise invalid(
                "invalid_token",
                f"The sandbox gateway accepts only its test tokens: {accepted}.",
                ("body", "token"),
            )
        if requested is not None and requested != kind:
            raise invalid(
                "payment_method_type_mismatch",
                f"Sandbox token {token} is a {kind}, not a {requested}.",
                ("body", "type"),
            )
        return kind
    if not GATEWAY_TOKEN.fullmatch(token):
        raise invalid(
            "invalid_token",
            f"A {gateway} token is 1-255 printable ASCII characters without spaces.",
            ("body", "token"),
        )
    return requested or "card"
