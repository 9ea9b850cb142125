"""Monthly partitions of usage events: events land in their month's partition, months without
one go to DEFAULT, and the maintenance function gives those months a partition of their own,
moving the rows, with aggregates unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from hisaab.db import Database
from hisaab.jobs import tasks
from hisaab.usage import service
from hisaab.usage.intake import Windows
from tests.usage.conftest import Usage

NOW = datetime(2041, 6, 15, tzinfo=UTC)
WIDE = Windows(future=timedelta(days=3650), late_grace=timedelta(0), fallback=timedelta(days=3650))


def _owner(test_db: Any, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(test_db.owner_url)
    try:
        with engine.begin() as connection:
            return list(connection.execute(text(sql), params))
    finally:
        engine.dispose()


def test_events_go_to_their_months_partition_or_to_default(
    test_db: Any, database: Database, usage: Usage
) -> None:
    for month in ("2041-03-01", "2041-04-01"):
        _owner(test_db, "SELECT usage_create_partition(CAST(:m AS date))", m=month)
    customer = usage.customer(clock=False)
    stamps = {
        "mar": "2041-03-31T23:59:59Z",
        "apr": "2041-04-01T00:00:00Z",
        "may": "2041-05-20T10:00:00+05:30",
        "far-past": "2039-01-01T00:00:00Z",
    }
    with database.transaction(usage.tenant.id) as session:
        result = service.ingest(
            session,
            usage.tenant.id,
            [
                {"id": i, "customer_id": customer, "meter": "calls", "timestamp": t}
                for i, t in stamps.items()
            ],
            NOW,
            windows=WIDE,
        )
    assert result.accepted == 4

    def placement() -> dict[str, str]:
        rows = _owner(
            test_db,
            "SELECT id, tableoid::regclass::text FROM usage_events "
            "WHERE tenant_id = :t AND customer_id = :c",
            t=usage.tenant.id,
            c=customer,
        )
        return {str(row[0]): str(row[1]) for row in rows}

    assert placement() == {
        "mar": "usage_partitions.usage_events_2041_03",
        "apr": "usage_partitions.usage_events_2041_04",
        "may": "usage_partitions.usage_events_default",
        "far-past": "usage_partitions.usage_events_default",
    }

    def total() -> Any:
        with database.transaction(usage.tenant.id) as session:
            return service.aggregate(
                session,
                usage.tenant.id,
                customer,
                "calls",
                datetime(2030, 1, 1, tzinfo=UTC),
                datetime(2050, 1, 1, tzinfo=UTC),
            )

    assert total() == 4
    # The job's call, as the application role: months found in DEFAULT get their partition.
    with database.transaction(None) as session:
        assert service.maintain_partitions(session) >= 2
    assert placement() == {
        "mar": "usage_partitions.usage_events_2041_03",
        "apr": "usage_partitions.usage_events_2041_04",
        "may": "usage_partitions.usage_events_2041_05",
        "far-past": "usage_partitions.usage_events_2039_01",
    }
    assert total() == 4
    with database.transaction(None) as session:
        assert service.maintain_partitions(session) == 0  # nothing left to do


def test_partitions_are_ready_around_today_and_out_of_the_app_roles_reach(
    test_db: Any, database: Database
) -> None:
    tasks.maintain_usage_partitions(timestamp=0)  # the daily job, run here and now
    today = datetime.now(UTC)
    names = {
        row[0]
        for row in _owner(
            test_db,
            "SELECT inhrelid::regclass::text FROM pg_inherits "
            "WHERE inhparent = 'usage_events'::regclass",
        )
    }
    ahead = today.replace(day=1) + timedelta(days=62)
    for moment in (today, ahead):
        assert f"usage_partitions.usage_events_{moment:%Y_%m}" in names
    engine = create_engine(test_db.app_url)
    try:
        with engine.connect() as connection, pytest.raises(Exception, match="permission denied"):
            connection.execute(text("SELECT 1 FROM usage_partitions.usage_events_default"))
    finally:
        engine.dispose()


def test_deleting_a_test_clock_deletes_its_customers_usage(
    test_db: Any, database: Database, usage: Usage
) -> None:
    customer = usage.customer()
    kept = usage.customer(clock=False)
    with database.transaction(usage.tenant.id) as session:
        result = service.ingest(
            session,
            usage.tenant.id,
            [
                {
                    "id": "gone",
                    "customer_id": customer,
                    "meter": "calls",
                    "timestamp": "2031-06-15T11:00:00Z",
                },
                {
                    "id": "kept",
                    "customer_id": kept,
                    "meter": "calls",
                    "timestamp": "2041-06-15T11:00:00Z",
                },
            ],
            NOW,
            windows=WIDE,
        )
    assert result.accepted == 2
    assert usage.tenant.http.delete(f"/v1/test_clocks/{usage.clock_id}").status_code == 200
    left = _owner(
        test_db, "SELECT customer_id FROM usage_events WHERE tenant_id = :t", t=usage.tenant.id
    )
    assert [row[0] for row in left] == [kept]
