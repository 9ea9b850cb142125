"""What other domains read from the catalog: frozen terms, no ORM rows and no IO.

Subscriptions and invoicing price from these snapshots, never from catalog tables, so the catalog
can change its storage without touching them, and a snapshot taken for (plan_id, version) stays
true for the life of the subscription that took it (versions are immutable).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from hisaab.core.errors import invalid
from hisaab.subscriptions.periods import Interval
from hisaab.usage.pricing import Charge

TaxBehavior = Literal["exclusive", "inclusive"]
Duration = Literal["once", "repeating", "forever"]


@dataclass(frozen=True)
class VersionTerms:
    """Everything that a plan version fixes; a change to any of it makes a new version."""

    interval: Interval
    interval_count: int
    trial_days: int
    tax_behavior: TaxBehavior
    sac_code: str
    features: dict[str, Any]
    prices: Mapping[str, int]
    # Metered charges, sorted by (meter, currency); billed in arrears with `usage.pricing.price`.
    # Keyword-only with a default so that terms without usage read as before.
    charges: tuple[Charge, ...] = field(default=(), kw_only=True)

    def charges_in(self, currency: str) -> tuple[Charge, ...]:
        """The charges a subscription in `currency` is billed: amounts in different currencies
        are never converted, so a charge in another currency does not apply to it."""
        code = currency.strip().upper()
        return tuple(charge for charge in self.charges if charge.currency == code)

    def same_as(self, other: VersionTerms) -> bool:
        """Equal as JSON would show them: in Python `1 == True`, but a feature's type matters."""
        return self._canonical() == other._canonical()

    def _canonical(self) -> str:
        return json.dumps(
            [
                self.interval,
                self.interval_count,
                self.trial_days,
                self.tax_behavior,
                self.sac_code,
                self.features,
                dict(self.prices),
                [charge.as_json() for charge in self.charges],
            ],
            sort_keys=True,
        )


@dataclass(frozen=True)
class PlanTerms(VersionTerms):
    """One version of a plan as a subscription is billed on it: its terms and which it is."""

    plan_id: str
    version: int
    code: str
    name: str
    archived: bool

    def unit_amount(self, currency: str) -> int:
        """The price in `currency` (minor units); 422 if the plan does not sell in it.

        A subscription is charged in its customer's currency (API.md "Catalog") and amounts in
        different currencies are never converted, so a missing price is the client's mistake.
        """
        code = currency.strip().upper()
        amount = self.prices.get(code)
        if amount is None:
            offered = ", ".join(sorted(self.prices)) or "none"
            raise invalid(
                "price_unavailable",
                f"Plan {self.code} (version {self.version}) has no price in {code}; "
                f"it is priced in {offered}.",
                ("body", "plan_id"),
            )
        return amount


@dataclass(frozen=True)
class CouponTerms:
    """A coupon's discount and limits. Redemption counting belongs to whoever redeems it."""

    id: str
    code: str
    percent_off: Decimal | None
    amount_off: int | None
    currency: str | None
    duration: Duration
    duration_in_periods: int | None
    max_redemptions: int | None
    redeem_by: datetime | None
    archived: bool
