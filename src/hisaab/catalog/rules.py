"""Pure rules of the catalog: what makes a plan version's terms and a coupon coherent.

Pydantic checks each field on its own; the rules here need several fields together (the bound on
interval_count depends on the interval, a PATCH combines new values with the current version) and
answer with a stable code and the exact field, which a model validator could not.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hisaab.catalog.terms import Duration, TaxBehavior, VersionTerms
from hisaab.core.errors import invalid
from hisaab.core.money import currency_code
from hisaab.subscriptions.periods import Interval
from hisaab.tax import service as tax
from hisaab.usage import pricing
from hisaab.usage.pricing import Charge

# About three years of any interval: longer commitments are contracts, not subscriptions.
MAX_INTERVAL_COUNT: Mapping[str, int] = {"day": 365, "week": 156, "month": 36, "year": 3}


def interval_count(interval: Interval, count: int) -> int:
    limit = MAX_INTERVAL_COUNT[interval]
    if not 1 <= count <= limit:
        raise invalid(
            "interval_count_out_of_range",
            f"A {interval}ly plan renews every 1 to {limit} {interval}s, not {count}.",
            ("body", "interval_count"),
        )
    return count


def prices(entries: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Currency (upper case) → unit amount, in currency order; one price per currency."""
    found: dict[str, int] = {}
    for index, (currency, amount) in enumerate(entries):
        loc = ("body", "prices", index, "currency")
        code = currency_code(currency, loc)
        if code in found:
            raise invalid("duplicate_currency", f"Two prices in {code}.", loc)
        found[code] = amount
    return dict(sorted(found.items()))


def sac_code(code: str) -> str:
    """Only services whose GST rate Hisaab knows: a wrong SAC is a wrong tax on every invoice."""
    if code not in tax.GST_SERVICES:
        raise invalid(
            "unknown_sac_code",
            f"SAC {code} is not one Hisaab has a GST rate for; use one of "
            f"{', '.join(sorted(tax.GST_SERVICES))}.",
            ("body", "sac_code"),
        )
    return code


def charges(
    entries: Sequence[Mapping[str, Any]], currencies: Collection[str]
) -> tuple[Charge, ...]:
    """Each charge valid on its own (`usage.pricing.charge`), at most one per meter and
    currency, and only in currencies the plan has a price in: a subscription is charged in one
    of those, so a charge in any other could never be billed. Sorted by (meter, currency), so
    the same charges in another order are the same terms."""
    found: dict[tuple[str, str], Charge] = {}
    for index, entry in enumerate(entries):
        loc = ("body", "charges", index)
        charge = pricing.charge(entry, loc)
        if charge.currency not in currencies:
            raise invalid(
                "charge_currency_not_in_prices",
                f"The {charge.meter} charge is in {charge.currency}, but the plan has no price "
                f"in it; it is priced in {', '.join(sorted(currencies))}.",
                (*loc, "currency"),
            )
        key = (charge.meter, charge.currency)
        if key in found:
            raise invalid(
                "duplicate_charge",
                f"Two charges for meter {charge.meter} in {charge.currency}.",
                (*loc, "meter"),
            )
        found[key] = charge
    return tuple(found[key] for key in sorted(found))


def version_terms(
    interval: Interval,
    count: int,
    trial_days: int,
    tax_behavior: TaxBehavior,
    sac: str,
    features: dict[str, Any],
    price_entries: Sequence[tuple[str, int]],
    charge_entries: Sequence[Mapping[str, Any]] = (),
) -> VersionTerms:
    plan_prices = prices(price_entries)
    return VersionTerms(
        interval=interval,
        interval_count=interval_count(interval, count),
        trial_days=trial_days,
        tax_behavior=tax_behavior,
        sac_code=sac_code(sac),
        features=dict(features),
        prices=plan_prices,
        charges=charges(charge_entries, plan_prices.keys()),
    )


@dataclass(frozen=True)
class Discount:
    percent_off: Decimal | None
    amount_off: int | None
    currency: str | None


def discount(percent_off: Decimal | None, amount_off: int | None, currency: str | None) -> Discount:
    """Exactly one of a percentage or a fixed amount, and an amount always with its currency."""
    if percent_off is not None and amount_off is not None:
        raise invalid(
            "discount_ambiguous",
            "A coupon takes percent_off or amount_off, not both.",
            ("body", "amount_off"),
        )
    if percent_off is None and amount_off is None:
        raise invalid(
            "discount_required",
            "A coupon needs percent_off or amount_off (with currency).",
            ("body", "percent_off"),
        )
    if amount_off is not None and currency is None:
        raise invalid(
            "currency_required",
            "amount_off is money: give its currency.",
            ("body", "currency"),
        )
    if amount_off is None and currency is not None:
        raise invalid(
            "currency_without_amount",
            "currency goes with amount_off only; a percentage applies in every currency.",
            ("body", "currency"),
        )
    code = None if currency is None else currency_code(currency, ("body", "currency"))
    percent = None if percent_off is None else percent_off.quantize(Decimal("0.01"))
    return Discount(percent_off=percent, amount_off=amount_off, currency=code)


def duration_in_periods(duration: Duration, periods: int | None) -> int | None:
    """A repeating coupon says for how many periods; once and forever need no count."""
    if duration == "repeating" and periods is None:
        raise invalid(
            "duration_in_periods_required",
            "A repeating coupon needs duration_in_periods.",
            ("body", "duration_in_periods"),
        )
    if duration != "repeating" and periods is not None:
        raise invalid(
            "duration_in_periods_not_allowed",
            f"duration_in_periods is for repeating coupons, not {duration} ones.",
            ("body", "duration_in_periods"),
        )
    return periods
