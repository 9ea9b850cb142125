"""Usage billed in arrears: each metered charge of the plan version a period was billed on,
priced on what its meter measured in that period (API.md "Usage-based billing").

The renewal invoice of a period carries the usage of the period that just ended; the final
invoice of a canceled subscription carries the usage of its last period. Every charge gets its
line even at zero usage, so the customer sees what was measured (and a flat fee of a first tier
is billed, as Stripe does).
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.orm import Session

from hisaab.catalog.terms import PlanTerms
from hisaab.invoicing import service as invoicing
from hisaab.usage import pricing
from hisaab.usage import service as usage


def usage_lines(
    session: Session,
    tenant_id: str,
    customer_id: str,
    currency: str,
    terms: PlanTerms,
    start: datetime,
    end: datetime,
) -> tuple[invoicing.UsageLineDraft, ...]:
    charges = terms.charges_in(currency)
    if not charges:
        return ()
    codes = [charge.meter for charge in charges]
    meters = usage.meters_by_codes(session, tenant_id, codes)
    measured = usage.aggregate_many(session, tenant_id, customer_id, codes, start, end)
    lines = []
    for charge in charges:
        meter = meters.get(charge.meter)
        quantity = measured.get(charge.meter, Decimal(0))
        priced = pricing.price(charge, quantity)
        lines.append(
            invoicing.UsageLineDraft(
                kind="usage",
                description=_description(meter.name if meter else charge.meter, priced),
                quantity=int(quantity.to_integral_value(ROUND_HALF_UP)),
                unit_amount=_whole_unit_amount(charge),
                amount=priced.amount,
                period_start=start,
                period_end=end,
                plan_id=terms.plan_id,
                plan_version=terms.version,
                sac_code=terms.sac_code,
                tax_behavior=terms.tax_behavior,
                usage=_usage(charge, meter.aggregation if meter else "count", priced),
            )
        )
    return tuple(lines)


def _whole_unit_amount(charge: pricing.Charge) -> int:
    """The per-unit price when the line is quantity times unit price in whole minor units; 0 when
    the amount comes from tiers, packages or a fractional price (see the line's `usage`)."""
    unit = charge.unit_amount
    if charge.model == "per_unit" and unit is not None and unit == unit.to_integral_value():
        return int(unit)
    return 0


def _description(name: str, priced: pricing.Priced) -> str:
    return f"{name}: {usage.decimal_text(priced.quantity)}"


def _usage(charge: pricing.Charge, aggregation: str, priced: pricing.Priced) -> dict[str, Any]:
    return {
        "meter": charge.meter,
        "aggregation": aggregation,
        "quantity": usage.decimal_text(priced.quantity),
        "model": charge.model,
        "tiers": [
            {
                "up_to": entry.up_to,
                "quantity": usage.decimal_text(entry.quantity),
                "unit_amount": usage.decimal_text(entry.unit_amount),
                "flat_amount": entry.flat_amount,
                "amount": entry.amount,
            }
            for entry in priced.breakdown
        ],
    }
