"""JSON(B) columns are written with `db.json_dumps` (pydantic's encoder, not the standard
library's): whatever the standard library could write reads back the same, through the ORM and
through a bulk batch alike, and what it would have sent PostgreSQL to refuse is still refused."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from hisaab.core import bulk
from hisaab.db import Database, json_dumps
from hisaab.webhooks.models import Event
from tests.conftest import TenantHandle
from tests.core.test_bulk import _event

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_reads_back_as_the_standard_library_would(value: Any) -> None:
    assert json.loads(json_dumps(value)) == json.loads(json.dumps(value))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_not_turned_into_null(bad: float) -> None:
    assert json_dumps({"x": bad}) == f'{{"x":{json.dumps(bad)}}}'.encode()


AWKWARD = {"₹": 'ünïcødé \n " \\', "big": 2**80, "neg": -(2**70), "f": 0.1, "list": [1, None]}


@pytest.mark.parametrize("in_batch", [False, True])
def test_stored_through_the_orm_and_in_bulk(
    database: Database, tenant: TenantHandle, in_batch: bool
) -> None:
    row = _event(tenant.id, {"object": AWKWARD}, datetime.now(UTC))
    with database.transaction(tenant.id) as session:
        if in_batch:
            with bulk.batch(session):
                bulk.insert_row(session, Event.__table__, row)  # type: ignore[arg-type]
        else:
            session.add(Event(**row))
    with database.transaction(tenant.id) as session:
        stored = session.scalars(select(Event.data).where(Event.id == row["id"])).one()
    assert stored == {"object": AWKWARD}


def test_postgresql_still_refuses_nan(database: Database, tenant: TenantHandle) -> None:
    with pytest.raises(DBAPIError), database.transaction(tenant.id) as session:
        session.add(Event(**_event(tenant.id, {"object": {"x": math.nan}}, datetime.now(UTC))))
        session.flush()


def test_the_engine_writes_json_with_it(database: Database) -> None:
    assert database.engine.dialect._json_serializer is json_dumps  # type: ignore[attr-defined]
