"""`events.holding`: the events of a block are written together when it ends, handlers still
run at each emit, and a block that fails writes none of them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from hisaab.db import Database
from hisaab.webhooks import service as events
from hisaab.webhooks.models import Event
from hisaab.webhooks.service import EventRecord
from tests.conftest import TenantHandle


class Thing(BaseModel):
    id: str
    n: int


@pytest.fixture
def handled() -> Iterator[list[str]]:
    seen: list[str] = []

    def handler(session: Session, record: EventRecord) -> None:
        seen.append(record.id)

    events.subscribe("customer.created", handler)
    yield seen
    events.unsubscribe("customer.created", handler)


def _stored(database: Database, tenant_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    with database.transaction(tenant_id) as session:
        return [
            (e.id, e.object_id, e.data) for e in session.scalars(select(Event).order_by(Event.id))
        ]


def test_a_blocks_events_are_written_in_one_statement_at_its_end(
    database: Database, tenant: TenantHandle, handled: list[str]
) -> None:
    now = datetime.now(UTC)
    inserts: list[str] = []

    def record(*args: Any) -> None:
        if args[2].startswith("INSERT INTO events"):
            inserts.append(args[2])

    with database.transaction(tenant.id) as session:
        event.listen(database.engine, "before_cursor_execute", record)
        try:
            with events.holding(session):
                emitted = [
                    events.emit(
                        session, tenant.id, "customer.created", Thing(id=f"cus_{n}", n=n), now
                    )
                    for n in range(3)
                ]
                session.flush()
                assert handled == [e.id for e in emitted], "handlers run at once"
                assert not inserts, "nothing written before the block ends"
            assert len(inserts) == 1
        finally:
            event.remove(database.engine, "before_cursor_execute", record)
    # (ids minted within one millisecond need not sort in the order they were minted)
    assert sorted(_stored(database, tenant.id)) == sorted(
        (e.id, f"cus_{n}", {"object": {"id": f"cus_{n}", "n": n}}) for n, e in enumerate(emitted)
    )


def test_a_block_that_fails_writes_nothing(database: Database, tenant: TenantHandle) -> None:
    now = datetime.now(UTC)
    with database.transaction(tenant.id) as session:
        with pytest.raises(RuntimeError), events.holding(session):
            events.emit(session, tenant.id, "customer.created", Thing(id="cus_x", n=1), now)
            raise RuntimeError("the use case failed")
        session.flush()
        with events.holding(session):  # the failed block left nothing behind for the next one
            kept = events.emit(session, tenant.id, "customer.created", Thing(id="cus_y", n=2), now)
    assert [row[0] for row in _stored(database, tenant.id)] == [kept.id]


def test_a_nested_block_leaves_the_writing_to_the_outer_one(
    database: Database, tenant: TenantHandle
) -> None:
    now = datetime.now(UTC)
    with database.transaction(tenant.id) as session, events.holding(session):
        with events.holding(session):
            inner = events.emit(session, tenant.id, "customer.created", Thing(id="cus_a", n=1), now)
        outer = events.emit(session, tenant.id, "customer.created", Thing(id="cus_b", n=2), now)
    assert sorted(row[0] for row in _stored(database, tenant.id)) == sorted([inner.id, outer.id])
