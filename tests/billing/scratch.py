"""A throwaway database for billing-run tests with real `hisaab worker` processes: its tenants
(real catalogs) and what the owner role, which row-level security does not filter, sees of it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL, Connection

from hisaab.app import create_app
from hisaab.billing import service as billing
from hisaab.core.tenancy import OPERATOR_SCOPE
from hisaab.db import Database, owner_engine
from tests import seeding
from tests.conftest import ADMIN_TOKEN
from tests.databases import drop_database, migrated_database

TENANTS = 2  # seeding.TENANT_PROFILES: IN (LUT), DE
QUEUES = ("billing", "payments")


class Run:
    """The scratch database, its tenants, and what the owner role sees of it."""

    def __init__(self, owner_url: URL, app_url: URL, database: Database) -> None:
        self.owner_url = owner_url
        self.app_url = app_url
        self.database = database
        self.tenants: list[str] = []
        self.engine = owner_engine(owner_url)
        self.conn: Connection = self.engine.connect()

    def scalar(self, sql: str, **params: Any) -> Any:
        value = self.conn.execute(text(sql), params).scalar_one()
        self.conn.rollback()  # a fresh snapshot next time
        return value

    def seed_due(self, per_tenant: int) -> datetime:
        """`per_tenant` subscriptions in each tenant, all due a minute ago; when they fell due."""
        due_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
        for tenant_id in self.tenants:
            seeding.seed_subscriptions(self.owner_url, tenant_id, per_tenant, due_at=due_at)
        return due_at

    def due(self, due_at: datetime) -> int:
        return int(
            self.scalar("SELECT count(*) FROM subscriptions WHERE next_action_at <= :d", d=due_at)
        )

    def uncharged(self) -> int:
        """Tries due now that no job will send: a batch's, committed but not (yet) charged."""
        return int(
            self.scalar(
                "SELECT count(*) FROM payment_attempts "
                "WHERE status = 'scheduled' AND scheduled_at <= now()"
            )
        )

    def batches(self) -> int:
        return int(self.scalar("SELECT count(*) FROM billing_batches"))

    def busy_jobs(self) -> int:
        """Billing and payment jobs waiting (due now) or running."""
        return int(
            self.scalar(
                "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = ANY(:q) AND "
                "(status = 'doing' OR "
                "(status = 'todo' AND coalesce(scheduled_at, now()) <= now()))",
                q=list(QUEUES),
            )
        )

    def fan_out(self) -> int:
        with self.database.transaction(OPERATOR_SCOPE) as session:
            return billing.fan_out(session)

    def close(self) -> None:
        self.conn.close()
        self.engine.dispose()


@contextmanager
def scratch_run(cluster_url: str, label: str) -> Iterator[Run]:
    name = f"hisaab_{label}_{os.getpid()}"
    owner_url, app_url = migrated_database(cluster_url, name)
    database = Database.connect(app_url, pool_size=2)
    scratch = Run(owner_url, app_url, database)
    try:
        app = create_app(database, ADMIN_TOKEN)
        scratch.tenants = [t.id for t in seeding.seed_tenants(app, ADMIN_TOKEN, TENANTS)]
        yield scratch
    finally:
        scratch.close()
        database.dispose()
        drop_database(cluster_url, name)
