"""Ledger accounts a process has seen committed are not inserted again, and one whose insert
rolled back (the whole transaction, or only a savepoint) is: a journal line never points at an
account that is not there."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hisaab.db import Database
from hisaab.ledger import chart, repository
from hisaab.ledger.models import LedgerAccount
from tests.conftest import TenantHandle, sent_statements

ACCOUNTS = [chart.TAX_PAYABLE["CGST"], chart.TAX_PAYABLE["SGST"]]
NOW = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture
def account_inserts(database: Database) -> Iterator[list[str]]:
    """The INSERTs into ledger_accounts the database's engine sends."""
    with sent_statements(database, "INSERT INTO ledger_accounts") as sent:
        yield sent


def _ensure(session: Session, tenant_id: str, currency: str = "INR") -> None:
    repository.ensure_accounts(session, tenant_id, currency, ACCOUNTS, NOW)


def _stored(database: Database, tenant_id: str, currency: str = "INR") -> int:
    with database.transaction(tenant_id) as session:
        return (
            session.scalar(
                select(func.count()).where(
                    LedgerAccount.currency == currency,
                    LedgerAccount.code.in_([a.code for a in ACCOUNTS]),
                )
            )
            or 0
        )


def test_committed_accounts_are_not_inserted_again(
    database: Database, tenant: TenantHandle, account_inserts: list[str]
) -> None:
    with database.transaction(tenant.id) as session:
        _ensure(session, tenant.id)
        _ensure(session, tenant.id)  # same transaction: asked once
    assert len(account_inserts) == 1
    with database.transaction(tenant.id) as session:
        _ensure(session, tenant.id)
    assert len(account_inserts) == 1
    with database.transaction(tenant.id) as session:
        _ensure(session, tenant.id, "EUR")  # another currency is other accounts
    assert len(account_inserts) == 2
    assert _stored(database, tenant.id) == 2
    assert _stored(database, tenant.id, "EUR") == 2


def _roll_back_the_transaction(database: Database, tenant_id: str) -> None:
    with pytest.raises(RuntimeError), database.transaction(tenant_id) as session:
        _ensure(session, tenant_id)
        raise RuntimeError("the batch fails")


def _roll_back_a_savepoint(database: Database, tenant_id: str) -> None:
    with database.transaction(tenant_id) as session:
        savepoint = session.begin_nested()
        _ensure(session, tenant_id)
        savepoint.rollback()


def _release_a_savepoint_then_roll_back(database: Database, tenant_id: str) -> None:
    """A released savepoint is no commit: the transaction around it can still roll back."""
    with pytest.raises(RuntimeError), database.transaction(tenant_id) as session:
        with session.begin_nested():
            _ensure(session, tenant_id)
        raise RuntimeError("the batch fails after its savepoint")


@pytest.mark.parametrize(
    "roll_back",
    [_roll_back_the_transaction, _roll_back_a_savepoint, _release_a_savepoint_then_roll_back],
)
def test_accounts_inserted_then_rolled_back_are_sent_again(
    database: Database,
    tenant: TenantHandle,
    account_inserts: list[str],
    roll_back: Callable[[Database, str], None],
) -> None:
    roll_back(database, tenant.id)
    assert _stored(database, tenant.id) == 0
    with database.transaction(tenant.id) as session:
        _ensure(session, tenant.id)
    assert len(account_inserts) == 2
    assert _stored(database, tenant.id) == 2


def test_another_database_is_asked_for_its_own(
    database: Database, tenant: TenantHandle, account_inserts: list[str], test_db: Any
) -> None:
    """What one engine learned is not taken for true on another (a new pool, a restored
    database): the cache is per engine."""
    with database.transaction(tenant.id) as session:
        _ensure(session, tenant.id)
    other = Database.connect(test_db.app_url, pool_size=1)
    try:
        with other.transaction(tenant.id) as session:
            sent_before = len(account_inserts)
            _ensure(session, tenant.id)
            # The listener is on the first engine: look at the second's cache instead.
            assert len(account_inserts) == sent_before
        assert (tenant.id, "INR", ACCOUNTS[0].code) in repository._accounts._known[other.engine]
    finally:
        other.dispose()
