"""New ORM objects the closing flush of a bulk batch inserts last go in the statement of the
batch's own rows (one round trip), and only then: when the flush writes anything after them
(the unit of work's share), or outside a batch, they go at once, as before."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, func, select

from hisaab.core import bulk
from hisaab.db import Database
from hisaab.webhooks.models import Event, WebhookEndpoint
from tests.conftest import TenantHandle
from tests.core.test_set_flush import _customer, _endpoint

NOW = datetime(2026, 4, 1, tzinfo=UTC)


@contextmanager
def _sent(database: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(" ".join(args[2].split()))

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def _event_row(tenant_id: str, object_id: str) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "id": f"evt_{object_id}",
        "type": "customer.created",
        "object_id": object_id,
        "data": {"object": {"id": object_id}},
        "created_at": NOW,
    }


def _count(database: Database, tenant_id: str, model: Any, ids: list[str]) -> int:
    with database.transaction(tenant_id) as session:
        return int(session.scalar(select(func.count()).where(model.id.in_(ids))) or 0)


def test_new_objects_of_the_closing_flush_go_with_the_batch_rows(
    database: Database, tenant: TenantHandle
) -> None:
    customers = [_customer(tenant.id) for _ in range(2)]
    with database.transaction(tenant.id) as session:
        with _sent(database) as seen, bulk.batch(session):
            session.add_all(customers)
            for customer in customers:
                bulk.insert_row(session, Event.__table__, _event_row(tenant.id, customer.id))  # type: ignore[arg-type]
        (statement,) = seen
        assert statement.startswith("WITH w0 AS (INSERT INTO customers ")
        assert ") INSERT INTO events " in statement
        assert all(not session.is_modified(c) and c not in session.new for c in customers)
    ids = [c.id for c in customers]
    assert _count(database, tenant.id, Event, [f"evt_{i}" for i in ids]) == 2


def test_objects_flushed_before_the_end_go_at_once(
    database: Database, tenant: TenantHandle
) -> None:
    with database.transaction(tenant.id) as session:
        flushed = _customer(tenant.id)
        with _sent(database) as seen, bulk.batch(session):
            session.add(flushed)
            session.flush()
            assert len(seen) == 1 and seen[0].startswith("INSERT INTO customers ")
            bulk.insert_row(session, Event.__table__, _event_row(tenant.id, flushed.id))  # type: ignore[arg-type]
        assert len(seen) == 2 and seen[1].startswith("INSERT INTO events ")
    assert _count(database, tenant.id, Event, [f"evt_{flushed.id}"]) == 1


@pytest.mark.parametrize("then", ["an_update_by_the_unit_of_work", "an_insert_by_it"])
def test_new_objects_do_not_wait_when_the_unit_of_work_writes_after_them(
    database: Database, tenant: TenantHandle, then: str
) -> None:
    with database.transaction(tenant.id) as session:
        existing = _customer(tenant.id)
        session.add(existing)
    with database.transaction(tenant.id) as session:
        loaded = session.get_one(type(existing), (tenant.id, existing.id))
        closing = _customer(tenant.id)
        endpoint = _endpoint(tenant.id)
        with _sent(database) as seen, bulk.batch(session):
            session.add(closing)
            if then == "an_update_by_the_unit_of_work":
                loaded.name = func.lower("RENAMED")  # SQL as a value: the unit of work's
            else:
                session.add(endpoint)  # a mapper with listeners: the unit of work's
            bulk.insert_row(session, Event.__table__, _event_row(tenant.id, closing.id))  # type: ignore[arg-type]
        assert not any(s.startswith("WITH") for s in seen), seen
        assert seen[-1].startswith("INSERT INTO events ")
        assert any(s.startswith("INSERT INTO customers ") for s in seen)
    assert _count(database, tenant.id, Event, [f"evt_{closing.id}"]) == 1
    if then == "an_update_by_the_unit_of_work":
        with database.transaction(tenant.id) as session:
            assert session.get_one(type(existing), (tenant.id, existing.id)).name == "renamed"
    else:
        assert _count(database, tenant.id, WebhookEndpoint, [endpoint.id]) == 1


def test_outside_a_batch_a_flush_inserts_at_once(database: Database, tenant: TenantHandle) -> None:
    with database.transaction(tenant.id) as session:
        customer = _customer(tenant.id)
        session.add(customer)
        with _sent(database) as seen:
            session.flush()
        assert len(seen) == 1 and seen[0].startswith("INSERT INTO customers ")
