"""`emit` inside and outside a bulk batch: the stored event and what handlers read are the same
either way (inside one, the object is serialized once, and handlers parse it back)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from hisaab.core import bulk
from hisaab.db import Database
from hisaab.webhooks import service as events
from hisaab.webhooks.models import Event
from hisaab.webhooks.service import Emitted, EventRecord
from tests.conftest import TenantHandle


class Thing(BaseModel):
    id: str
    at: datetime
    amount: int
    ratio: float
    note: str
    tags: list[str]
    extra: dict[str, Any] | None


THING = Thing(
    id="cus_thing",
    at=datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC),
    amount=123_456_789_012,
    ratio=0.1,
    note='quote " backslash \\ ünïcødé ₹ \n',
    tags=["a", "b"],
    extra={"nested": [1, None, True]},
)
EXPECTED = {"object": THING.model_dump(mode="json")}


@pytest.fixture
def seen() -> Iterator[list[dict[str, Any]]]:
    """What a `customer.created` handler read of each event's data."""
    read: list[dict[str, Any]] = []

    def handler(session: Session, event: EventRecord) -> None:
        read.append(event.data)

    events.subscribe("customer.created", handler)
    yield read
    events.unsubscribe("customer.created", handler)


@pytest.mark.parametrize("in_batch", [False, True])
def test_handlers_and_the_stored_event_get_the_objects_json(
    database: Database, tenant: TenantHandle, seen: list[dict[str, Any]], in_batch: bool
) -> None:
    now = datetime.now(UTC)
    with database.transaction(tenant.id) as session:
        if in_batch:
            with bulk.batch(session):
                emitted = events.emit(session, tenant.id, "customer.created", THING, now)
        else:
            emitted = events.emit(session, tenant.id, "customer.created", THING, now)
    assert (emitted.data_json is not None) is in_batch
    assert seen == [EXPECTED]
    assert emitted.object_id == "cus_thing"
    with database.transaction(tenant.id) as session:
        stored = session.scalars(select(Event).where(Event.id == emitted.id)).one()
        assert (stored.type, stored.object_id, stored.data) == (
            "customer.created",
            "cus_thing",
            EXPECTED,
        )


def test_an_event_has_its_data_one_way_exactly() -> None:
    now = datetime.now(UTC)
    with pytest.raises(ValueError, match="either"):
        Emitted("ten_x", "evt_x", "customer.created", "cus_x", now)
    with pytest.raises(ValueError, match="either"):
        Emitted("ten_x", "evt_x", "customer.created", "cus_x", now, data={}, data_json="{}")
    parsed = Emitted("ten_x", "evt_x", "customer.created", "cus_x", now, data_json='{"a": [1]}')
    assert parsed.data == {"a": [1]}
    assert parsed.data is parsed.data  # parsed once
