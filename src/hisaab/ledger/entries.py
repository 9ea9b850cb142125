"""What each money movement posts: document amounts in, balanced journal lines out. No IO.

Every builder works in signed amounts (debit positive), nets them per account, and refuses to
return lines that do not sum to zero, so an unbalanced entry cannot leave this module. A negative
amount simply lands on the other side: a proration credit reduces deferred revenue with a debit,
and a line is never negative.

Every line of an entry carries the customer and the invoice it concerns. That is what lets
`verify` check receivables, deferred revenue and tax per invoice and credit per customer, and
what lets a void reverse exactly what one invoice left behind (`reversal`), whatever credit
notes, recognitions and write-offs happened in between.

Revenue recognition (`recognition_schedule`) spreads a line's net amount straight-line over its
service period, with a slice at each calendar month end in the tenant's timezone and one at the
period end; slices that are already due when the invoice is issued are merged into one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hisaab.ledger import chart
from hisaab.ledger.chart import Account


class Unbalanced(ValueError):
    """A builder was asked for amounts that do not balance: a bug in its caller."""


@dataclass(frozen=True)
class Posting:
    """One journal line: exactly one of debit and credit is positive, the other zero."""

    account: str
    debit: int
    credit: int
    customer_id: str
    invoice_id: str

    @property
    def signed(self) -> int:
        return self.debit - self.credit


class _Lines:
    def __init__(self, customer_id: str, invoice_id: str) -> None:
        self._customer_id = customer_id
        self._invoice_id = invoice_id
        self._sums: dict[str, int] = {}

    def debit(self, account: Account, amount: int) -> None:
        _check_int(amount)
        self._sums[account.code] = self._sums.get(account.code, 0) + amount

    def credit(self, account: Account, amount: int) -> None:
        self.debit(account, -amount)

    def postings(self) -> tuple[Posting, ...]:
        if sum(self._sums.values()) != 0:
            raise Unbalanced(f"entry does not balance: {self._sums}")
        return tuple(
            Posting(
                account=code,
                debit=max(amount, 0),
                credit=max(-amount, 0),
                customer_id=self._customer_id,
                invoice_id=self._invoice_id,
            )
            for code, amount in self._sums.items()
            if amount != 0
        )


def _check_int(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"amounts are integers of minor units, got {amount!r}")


def _non_negative(**amounts: int) -> None:
    for name, amount in amounts.items():
        _check_int(amount)
        if amount < 0:
            raise ValueError(f"{name} must not be negative, got {amount}")


def finalized(
    customer_id: str,
    invoice_id: str,
    *,
    net: int,
    taxes: Mapping[str, int],
    amount_due: int,
    credit_applied: int,
    credit_granted: int,
) -> tuple[Posting, ...]:
    """An invoice is issued: what it bills (net, deferred until earned, and each tax) against
    what settles it (receivable, credit balance used); a net credit goes to the balance."""
    _non_negative(
        amount_due=amount_due, credit_applied=credit_applied, credit_granted=credit_granted
    )
    lines = _Lines(customer_id, invoice_id)
    lines.debit(chart.RECEIVABLE, amount_due)
    lines.debit(chart.CUSTOMER_CREDIT, credit_applied)
    lines.credit(chart.CUSTOMER_CREDIT, credit_granted)
    lines.credit(chart.DEFERRED_REVENUE, net)
    for tax_type, amount in taxes.items():
        lines.credit(chart.tax_payable(tax_type), amount)
    return lines.postings()


def paid(
    customer_id: str, invoice_id: str, amount: int, *, written_off: bool
) -> tuple[Posting, ...]:
    """Money arrived. On an invoice written off it is a recovery: the write-off shrinks."""
    _non_negative(amount=amount)
    lines = _Lines(customer_id, invoice_id)
    lines.debit(chart.CASH_CLEARING, amount)
    lines.credit(chart.BAD_DEBT if written_off else chart.RECEIVABLE, amount)
    return lines.postings()


def written_off(customer_id: str, invoice_id: str, amount: int) -> tuple[Posting, ...]:
    """What is still owed becomes bad debt; the invoice can still be paid (`paid`)."""
    _non_negative(amount=amount)
    lines = _Lines(customer_id, invoice_id)
    lines.debit(chart.BAD_DEBT, amount)
    lines.credit(chart.RECEIVABLE, amount)
    return lines.postings()


def recognized(customer_id: str, invoice_id: str, amount: int) -> tuple[Posting, ...]:
    """Deferred revenue earned by the passing of time (negative for a proration credit)."""
    lines = _Lines(customer_id, invoice_id)
    lines.debit(chart.DEFERRED_REVENUE, amount)
    lines.credit(chart.REVENUE, amount)
    return lines.postings()


def reversal(customer_id: str, invoice_id: str, balances: Mapping[str, int]) -> tuple[Posting, ...]:
    """A void: bring every balance the invoice left (signed, debit positive, per account code)
    back to zero. The balances of one invoice sum to zero because each of its entries did, so
    the reversal balances by construction; `Unbalanced` means the journal itself is broken."""
    lines = _Lines(customer_id, invoice_id)
    for code, balance in balances.items():
        lines.credit(chart.ACCOUNTS[code], balance)
    return lines.postings()


def credit_note(
    customer_id: str,
    invoice_id: str,
    *,
    net: int,
    taxes: Mapping[str, int],
    to_receivable: int,
    to_customer_credit: int,
    refunded: int,
    written_off_balance: int = 0,
) -> tuple[Posting, ...]:
    """A credit note takes value (into sales returns, so revenue keeps what was billed) and tax
    back, and says where the money goes: off the invoice's receivable (or off its write-off, if
    the receivable was written off), to the customer's credit balance, or back as a refund."""
    _non_negative(
        net=net,
        to_receivable=to_receivable,
        to_customer_credit=to_customer_credit,
        refunded=refunded,
        **{f"tax {t}": amount for t, amount in taxes.items()},
    )
    if net + sum(taxes.values()) != to_receivable + to_customer_credit + refunded:
        raise Unbalanced(
            f"credit note of {net} + tax {sum(taxes.values())} allocates "
            f"{to_receivable} + {to_customer_credit} + {refunded}"
        )
    off_write_off = min(to_receivable, max(written_off_balance, 0))
    lines = _Lines(customer_id, invoice_id)
    lines.debit(chart.SALES_RETURNS, net)
    for tax_type, amount in taxes.items():
        lines.debit(chart.tax_payable(tax_type), amount)
    lines.credit(chart.BAD_DEBT, off_write_off)
    lines.credit(chart.RECEIVABLE, to_receivable - off_write_off)
    lines.credit(chart.CUSTOMER_CREDIT, to_customer_credit)
    lines.credit(chart.CASH_CLEARING, refunded)
    return lines.postings()


# --- revenue recognition -------------------------------------------------------------------

_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Slice:
    """The part of a line's net amount earned over [period_start, period_end), recognised at
    `recognize_at` (the period end, or the issue time for what was already earned then)."""

    period_start: datetime
    period_end: datetime
    recognize_at: datetime
    amount: int


def month_ends(start: datetime, end: datetime, zone: ZoneInfo) -> list[datetime]:
    """Local midnights at the start of each month strictly between `start` and `end`.

    A midnight that does not exist locally (a DST jump at 00:00) is read with the offset before
    the jump, which is the instant of the jump: the first instant the new month has begun.
    """
    local = start.astimezone(zone)
    year, month = local.year, local.month
    found: list[datetime] = []
    while True:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        boundary = datetime(year, month, 1, tzinfo=zone).astimezone(UTC)
        if boundary >= end:
            return found
        if boundary > start:
            found.append(boundary)


def _share(amount: int, part: timedelta, whole: timedelta) -> int:
    """amount * part / whole, rounded half away from zero, in integers (no float, no drift)."""
    numerator = abs(amount) * (part // _MICROSECOND)
    denominator = whole // _MICROSECOND
    rounded = (2 * numerator + denominator) // (2 * denominator)
    return rounded if amount >= 0 else -rounded


def recognition_schedule(
    amount: int, start: datetime, end: datetime, zone: ZoneInfo, not_before: datetime
) -> tuple[Slice, ...]:
    """Straight-line slices of `amount` over [start, end), cut at month ends in `zone`.

    Each boundary gets the cumulative share rounded once, so the slices add up to `amount` to
    the minor unit and rounding never drifts. Slices that end by `not_before` (the issue time:
    billing in arrears, or a period already under way) are merged and recognised then.
    """
    _check_int(amount)
    if amount == 0:
        return ()
    if end <= start:
        return (Slice(start, end, max(end, not_before), amount),)
    boundaries = [*month_ends(start, end, zone), end]
    slices: list[Slice] = []
    previous, earned = start, 0
    for boundary in boundaries:
        cumulative = _share(amount, boundary - start, end - start)
        at = max(boundary, not_before)
        if slices and slices[-1].recognize_at == at:
            last = slices.pop()
            slices.append(Slice(last.period_start, boundary, at, last.amount + cumulative - earned))
        else:
            slices.append(Slice(previous, boundary, at, cumulative - earned))
        previous, earned = boundary, cumulative
    return tuple(slices)
