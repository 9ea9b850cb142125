"""One billing-run batch in process, set up as a worker is (a mailer configured, so every event
handler runs): the batch must issue its renewals together, not fall back to one subscription at a
time, and its record must count what it did either way."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from structlog.testing import capture_logs

from hisaab.billing import service as billing
from hisaab.db import Database
from hisaab.jobs import scheduler
from hisaab.jobs import tasks as _tasks  # noqa: F401 - registers the due work with the scheduler
from hisaab.mail import service as mail
from hisaab.payments import service as payments
from hisaab.subscriptions import service as subscriptions
from tests import seeding
from tests.billing import invariants
from tests.conftest import ADMIN_TOKEN, TestDatabase
from tests.databases import owner_connection

SUBSCRIPTIONS = 40


@pytest.fixture
def worker_mailer(tmp_path: Path) -> Iterator[None]:
    """The mail handlers (pre-debit notices among them) run only where a mailer is set."""
    mail.configure(mail.mailer_from_settings(None, "billing@example.test", tmp_path))
    yield
    mail.configure(None)


def _batch_rows(test_db: TestDatabase, tenant_id: str) -> list[Any]:
    with owner_connection(test_db.owner_url) as conn:
        return list(
            conn.execute(
                text(
                    "SELECT subscriptions, invoices FROM billing_batches "
                    "WHERE tenant_id = :t ORDER BY started_at"
                ),
                {"t": tenant_id},
            )
        )


def _seed_indian_tenant(app: Any, test_db: TestDatabase) -> tuple[str, datetime]:
    """An Indian tenant's mix: rupee renewals of Indian customers get a pre-debit notice."""
    (tenant,) = seeding.seed_tenants(app, ADMIN_TOKEN, 1)
    due = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    seeded = seeding.seed_subscriptions(test_db.owner_url, tenant.id, SUBSCRIPTIONS, due_at=due)
    assert seeded.by_segment.get("intra_state_b2c"), "the mix has rupee renewals in India"
    return tenant.id, due


def test_a_batch_with_pre_debit_notices_is_issued_in_bulk(
    app: Any, database: Database, test_db: TestDatabase, worker_mailer: None
) -> None:
    tenant_id, due = _seed_indian_tenant(app, test_db)
    with capture_logs() as logs:
        assert billing.run_batch(database, tenant_id) == SUBSCRIPTIONS
    failures = [e for e in logs if e["event"] == "subscription_batch_failed"]
    assert not failures, failures[0].get("exc_info") or failures
    assert [tuple(r) for r in _batch_rows(test_db, tenant_id)] == [(SUBSCRIPTIONS, SUBSCRIPTIONS)]
    with owner_connection(test_db.owner_url) as conn:
        outcome = invariants.renewals(conn, [tenant_id], due, datetime.now(UTC))
        told = invariants.numbers_told(conn, [tenant_id])
    assert not outcome.problems, outcome.problems
    assert not told, told


def test_a_batch_that_falls_back_still_counts_its_invoices(
    app: Any,
    database: Database,
    test_db: TestDatabase,
    worker_mailer: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When the bulk path fails, each subscription is billed on its own: the batch record must
    still say how many invoices that made."""

    def broken(*_: Any) -> int:
        raise RuntimeError("bulk path broken")

    monkeypatch.setattr(subscriptions, "_catch_up_many", broken)
    tenant_id, _ = _seed_indian_tenant(app, test_db)
    with capture_logs() as logs:
        assert billing.run_batch(database, tenant_id) == SUBSCRIPTIONS
    assert any(e["event"] == "subscription_batch_failed" for e in logs)
    assert [tuple(r) for r in _batch_rows(test_db, tenant_id)] == [(SUBSCRIPTIONS, SUBSCRIPTIONS)]


def test_the_sweeps_charges_are_counted_in_the_batch_record(
    app: Any, database: Database, test_db: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tries a crash left unsent are charged by the sweep in the batch's first transaction;
    the batch record counts them with the rest."""
    _, german = seeding.seed_tenants(app, ADMIN_TOKEN, 2)  # IN, then DE: charged at once
    due = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    seeding.seed_subscriptions(test_db.owner_url, german.id, SUBSCRIPTIONS, due_at=due)
    with database.transaction(german.id) as session:  # the batch's first transaction only
        payments.charges_after_commit(session)
        assert scheduler.run_due(session, None, datetime.now(UTC)) == SUBSCRIPTIONS
    monkeypatch.setattr(payments, "SWEEP_GRACE", timedelta(0))
    assert billing.run_batch(database, german.id) == SUBSCRIPTIONS
    with owner_connection(test_db.owner_url) as conn:
        row = conn.execute(
            text(
                "SELECT subscriptions, payments_succeeded FROM billing_batches WHERE tenant_id = :t"
            ),
            {"t": german.id},
        ).one()
    assert tuple(row) == (0, SUBSCRIPTIONS)
