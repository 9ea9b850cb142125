"""When to try again, when to give up, and what Indian recurring-payment rules demand.

Pure: the payments service asks these with the invoice's history and the customer's `now`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

# RBI e-mandate framework (circular DPSS.CO.PD No.447/02.14.003/2019-20 and its updates): the
# customer is notified at least 24 hours before each automatic debit, and a debit above
# ₹15,000 needs the customer's own authentication (no off-session charge).
PRE_DEBIT_NOTICE = timedelta(hours=24)
OFF_SESSION_LIMIT_PAISE = 15_000_00


def retry_times(first_failed_at: datetime, retry_days: Sequence[int]) -> list[datetime]:
    """The instants of the automatic retries: `retry_days` counted from the first failure."""
    return [first_failed_at + timedelta(days=day) for day in retry_days]


def next_retry_at(
    first_failed_at: datetime, retry_days: Sequence[int], now: datetime
) -> datetime | None:
    """The first scheduled retry still ahead of `now`; None when the schedule is spent."""
    return next((at for at in retry_times(first_failed_at, retry_days) if at > now), None)


def final_action_at(first_failed_at: datetime, retry_days: Sequence[int]) -> datetime:
    """When the tenant's final action applies to an invoice still unpaid: with the last retry
    (which runs first at that instant), or at once when there are no retries."""
    return first_failed_at + timedelta(days=max(retry_days, default=0))


def indian_mandate(currency: str, customer_country: str) -> bool:
    """A recurring rupee debit of a customer in India: the RBI e-mandate rules apply, whatever
    the gateway (cards saved with Stripe India and Razorpay tokens and UPI AutoPay alike)."""
    return currency == "INR" and customer_country == "IN"


def needs_customer_authentication(amount: int, currency: str, customer_country: str) -> bool:
    """Above the e-mandate limit the customer must authenticate the payment themselves."""
    return indian_mandate(currency, customer_country) and amount > OFF_SESSION_LIMIT_PAISE
