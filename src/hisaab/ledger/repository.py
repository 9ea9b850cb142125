"""All SQL of the ledger's own tables (the cross-document audit queries live in verify.py).

Row-level security scopes every read to the transaction's tenant, so reads here name no tenant.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import InstrumentedAttribute, Session

from hisaab.core import bulk
from hisaab.core.committed import CommittedCache
from hisaab.core.pagination import PageRequest, Slice, fetch_page
from hisaab.core.queries import any_of
from hisaab.ledger.chart import Account
from hisaab.ledger.models import JournalEntry, JournalLine, LedgerAccount, RecognitionSlice


def _on_clock(column: InstrumentedAttribute[str | None], clock_id: str | None) -> Any:
    return column.is_(None) if clock_id is None else column == clock_id


# Accounts known to exist: an account is never deleted (the app role cannot, and no cascade
# reaches it), so one seen committed exists for good, and its insert is not sent again.
_accounts: CommittedCache[tuple[str, str, str], bool] = CommittedCache("ledger_accounts")


def ensure_accounts(
    session: Session, tenant_id: str, currency: str, accounts: Iterable[Account], now: datetime
) -> None:
    """Create the accounts an entry posts to, if this tenant has not used them in this currency.

    ON CONFLICT DO NOTHING makes two first postings at once both succeed; the second waits for
    the first's row, so the lines' foreign key always finds a committed or own account. An
    account this process has seen committed, or this transaction has inserted, is not asked for
    again.
    """
    missing = [
        account
        for account in accounts
        if not _accounts.get(session, (tenant_id, currency, account.code))
    ]
    if missing:
        _ensure_accounts(session, tenant_id, currency, missing, now)


def _ensure_accounts(
    session: Session, tenant_id: str, currency: str, accounts: Sequence[Account], now: datetime
) -> None:
    rows = [
        {
            "tenant_id": tenant_id,
            "currency": currency,
            "code": account.code,
            "name": account.name,
            "type": account.type,
            "normal_balance": account.normal_balance,
            "created_at": now,
        }
        for account in accounts
    ]
    # Without autoflush: an account points at nothing pending, and what is (an invoice a batch
    # has yet to number and write) is better written late.
    with session.no_autoflush:
        session.execute(pg_insert(LedgerAccount).values(rows).on_conflict_do_nothing())
    for account in accounts:
        _accounts.learn(session, (tenant_id, currency, account.code), True)


def add_entry(
    session: Session, entry: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]
) -> None:
    bulk.insert_row(session, JournalEntry.__table__, entry)  # type: ignore[arg-type]
    bulk.insert_rows(session, JournalLine.__table__, lines)  # type: ignore[arg-type]


def invoice_balances(session: Session, invoice_id: str) -> dict[str, int]:
    """Signed balance (debit positive) per account of every line about this invoice."""
    statement = (
        select(JournalLine.account_code, func.sum(JournalLine.debit - JournalLine.credit))
        .where(JournalLine.invoice_id == invoice_id)
        .group_by(JournalLine.account_code)
        .order_by(JournalLine.account_code)
    )
    return {code: int(balance) for code, balance in session.execute(statement)}


# --- recognition schedule ------------------------------------------------------------------


def add_slices(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """One INSERT for the whole schedule of an invoice (or of a bulk batch's invoices)."""
    bulk.insert_rows(session, RecognitionSlice.__table__, rows)  # type: ignore[arg-type]


def _due(clock_id: str | None, now: datetime) -> list[ColumnElement[bool]]:
    return [
        RecognitionSlice.status == "pending",
        _on_clock(RecognitionSlice.test_clock_id, clock_id),
        RecognitionSlice.recognize_at <= now,
    ]


def earliest_slice(session: Session, clock_id: str | None, until: datetime) -> datetime | None:
    value: datetime | None = session.scalar(
        select(func.min(RecognitionSlice.recognize_at)).where(*_due(clock_id, until))
    )
    return value


def claim_due_slices(
    session: Session,
    clock_id: str | None,
    now: datetime,
    limit: int,
    invoice_id: str | None = None,
) -> list[RecognitionSlice]:
    """Pending slices due by `now`, locked; rows another worker holds are skipped, and
    PostgreSQL re-checks `status` after locking, so a slice is never recognised twice."""
    statement = select(RecognitionSlice).where(*_due(clock_id, now))
    if invoice_id is not None:
        statement = statement.where(RecognitionSlice.invoice_id == invoice_id)
    statement = (
        statement.order_by(
            RecognitionSlice.recognize_at,
            RecognitionSlice.invoice_id,
            RecognitionSlice.invoice_line_id,
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(statement))


def cancel_pending(session: Session, invoice_id: str) -> int:
    result = session.execute(
        update(RecognitionSlice)
        .where(RecognitionSlice.invoice_id == invoice_id, RecognitionSlice.status == "pending")
        .values(status="canceled")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountTotal:
    account: LedgerAccount
    debits: int
    credits: int


def trial_balance(session: Session, currency: str, clock_id: str | None) -> list[AccountTotal]:
    """Every account of the currency with its debits and credits in one book."""
    totals = (
        select(
            JournalLine.account_code,
            func.sum(JournalLine.debit).label("debits"),
            func.sum(JournalLine.credit).label("credits"),
        )
        .join(
            JournalEntry,
            (JournalEntry.tenant_id == JournalLine.tenant_id)
            & (JournalEntry.id == JournalLine.entry_id),
        )
        .where(JournalLine.currency == currency, _on_clock(JournalEntry.test_clock_id, clock_id))
        .group_by(JournalLine.account_code)
        .subquery()
    )
    statement = (
        select(
            LedgerAccount,
            func.coalesce(totals.c.debits, 0),
            func.coalesce(totals.c.credits, 0),
        )
        .outerjoin(totals, totals.c.account_code == LedgerAccount.code)
        .where(LedgerAccount.currency == currency)
        .order_by(LedgerAccount.code)
    )
    return [
        AccountTotal(account, int(debits), int(credits))
        for account, debits, credits in session.execute(statement)
    ]


def list_entries(session: Session, page: PageRequest, source_id: str | None) -> Slice[JournalEntry]:
    statement = select(JournalEntry)
    if source_id is not None:
        statement = statement.where(JournalEntry.source_id == source_id)
    return fetch_page(session, statement, JournalEntry.id, page)


def lines_of(
    session: Session, entries: Sequence[JournalEntry]
) -> dict[str, list[tuple[JournalLine, str]]]:
    """Each entry's lines in order, with the name of the account each posts to."""
    found: dict[str, list[tuple[JournalLine, str]]] = defaultdict(list)
    if entries:
        statement = (
            select(JournalLine, LedgerAccount.name)
            .join(
                LedgerAccount,
                (LedgerAccount.tenant_id == JournalLine.tenant_id)
                & (LedgerAccount.currency == JournalLine.currency)
                & (LedgerAccount.code == JournalLine.account_code),
            )
            .where(any_of(JournalLine.entry_id, [e.id for e in entries]))
            .order_by(JournalLine.entry_id, JournalLine.line_no)
        )
        for line, name in session.execute(statement):
            found[line.entry_id].append((line, name))
    return found
