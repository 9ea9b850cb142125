"""Exchange rates a GST tenant declares, and the rupee values its foreign-currency invoices record.

Hisaab fetches no rates (it runs offline and must not guess): the tenant puts the reference rate
it uses (RBI's, or its bank's) with `PUT /v1/exchange_rates/{CUR}`, effective from a day on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from hisaab.core import bulk, money
from hisaab.core.errors import conflict, invalid
from hisaab.invoicing import fx, repository
from hisaab.invoicing.models import ExchangeRate
from hisaab.tenants import service as tenants


def currency_code(value: str) -> str:
    code = money.currency_code(value, ("path", "currency"))
    if code == fx.INR:
        raise invalid("invalid_currency", "Rates are to INR; INR needs none.", ("path", "currency"))
    return code


def set_rate(
    session: Session,
    tenant_id: str,
    currency: str,
    rate_to_inr: Decimal,
    day: date | None,
    now: datetime,
) -> ExchangeRate:
    """Put the rate in force from `day` (today in the tenant's time zone by default).

    Invoices already issued keep the rate they recorded; only later ones use a corrected rate.
    """
    code = currency_code(currency)
    if day is None:
        day = tenants.local_day(tenants.get_tenant(session, tenant_id), now)
    rate = repository.get_rate(session, tenant_id, code, day)
    if rate is None:
        rate = ExchangeRate(
            tenant_id=tenant_id,
            currency=code,
            effective_on=day,
            rate_to_inr=rate_to_inr,
            created_at=now,
            updated_at=now,
        )
        repository.add(session, rate)
    else:
        rate.rate_to_inr = rate_to_inr
        rate.updated_at = now
        session.flush()
    return rate


def list_rates(session: Session, currency: str | None, limit: int) -> list[ExchangeRate]:
    code = None if currency is None else currency_code(currency)
    return repository.list_rates(session, code, limit)


def present(rate: ExchangeRate) -> dict[str, Any]:
    return {
        "currency": rate.currency,
        "rate_to_inr": fx.rate_text(rate.rate_to_inr),
        "date": rate.effective_on,
    }


def invoice_inr_values(
    session: Session,
    gst_tenant: bool,
    currency: str,
    day: date,
    taxable: int,
    tax_lines: Sequence[dict[str, Any]],
) -> dict[str, Any] | None:
    """The rupee figures a GST invoice in a foreign currency must carry, at the rate in force on
    its date; refusing to issue without a rate is better than a tax invoice without them."""
    if not gst_tenant or currency == fx.INR:
        return None
    rate = bulk.memo(
        session,
        ("exchange_rate", currency, day),
        lambda: repository.rate_on(session, currency, day),
    )
    if rate is None:
        raise conflict(
            "exchange_rate_missing",
            f"No INR rate for {currency} on or before {day.isoformat()}: "
            f"PUT /v1/exchange_rates/{currency} first.",
        )
    return fx.inr_values(currency, rate.rate_to_inr, rate.effective_on, taxable, tax_lines)
