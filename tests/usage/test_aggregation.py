"""Aggregation at the SQL level: each meter's aggregation over a half-open period, table tests.

Events go in through `service.ingest` (the same statement as the API) with a window wide enough
for any timestamp, and come out through `service.aggregate` / `aggregate_many`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from hisaab.core.errors import HisaabError
from hisaab.db import Database
from hisaab.usage import service
from hisaab.usage.intake import Windows
from tests.usage.conftest import Usage

START = datetime(2031, 6, 1, tzinfo=UTC)
END = datetime(2031, 7, 1, tzinfo=UTC)
NOW = datetime(2031, 7, 15, tzinfo=UTC)
WIDE = Windows(future=timedelta(days=3650), late_grace=timedelta(0), fallback=timedelta(days=3650))


def _at(day: int, second: int = 0) -> str:
    return (START + timedelta(days=day - 1, seconds=second)).isoformat()


def _store(database: Database, usage: Usage, customer: str, events: list[dict[str, Any]]) -> None:
    """Each inner list is one batch; batches go in order (received order)."""
    with database.transaction(usage.tenant.id) as session:
        result = service.ingest(
            session,
            usage.tenant.id,
            [{"customer_id": customer, **e} for e in events],
            NOW,
            windows=WIDE,
        )
    assert result.rejected == 0, result.errors


def _aggregate(database: Database, usage: Usage, customer: str, meter: str) -> Decimal:
    with database.transaction(usage.tenant.id) as session:
        return service.aggregate(session, usage.tenant.id, customer, meter, START, END)


# (meter, [(day, properties)], expected)
CASES = [
    ("calls", [], "0"),
    ("calls", [(1, {}), (15, {}), (30, {})], "3"),
    ("tokens", [], "0"),
    ("tokens", [(1, {"tokens": 10}), (2, {"tokens": "2.5"}), (3, {"tokens": 0.25})], "12.75"),
    ("tokens", [(1, {"tokens": -5}), (2, {"tokens": 5})], "0"),
    ("tokens", [(1, {"tokens": "0.000000000000000001"})], "0.000000000000000001"),
    ("peak", [], "0"),
    ("peak", [(1, {"gb": 3}), (2, {"gb": 9.5}), (3, {"gb": 4})], "9.5"),
    ("peak", [(1, {"gb": -3}), (2, {"gb": -1})], "-1"),
    ("users", [], "0"),
    ("users", [(1, {"user": "a"}), (2, {"user": "b"}), (3, {"user": "a"})], "2"),
    ("users", [(1, {"user": 42}), (2, {"user": "42"}), (3, {"user": 42.0})], "1"),
    ("users", [(1, {"user": True}), (2, {"user": False}), (3, {"user": "x"})], "3"),
    ("seats", [], "0"),
    ("seats", [(1, {"seats": 5}), (3, {"seats": 7}), (2, {"seats": 9})], "7"),
    ("seats", [(5, {"seats": 5}), (5, {"seats": 8})], "8"),  # same time: the later received
]


@pytest.mark.parametrize(("meter", "events", "expected"), CASES)
def test_each_aggregation(
    database: Database,
    usage: Usage,
    meter: str,
    events: list[tuple[int, dict[str, Any]]],
    expected: str,
) -> None:
    customer = usage.customer()
    batch = [
        {"id": f"e{i}", "meter": meter, "timestamp": _at(day), "properties": properties}
        for i, (day, properties) in enumerate(events)
    ]
    _store(database, usage, customer, batch)
    assert _aggregate(database, usage, customer, meter) == Decimal(expected)


def test_the_period_is_half_open_and_per_customer_and_meter(
    database: Database, usage: Usage
) -> None:
    customer, other = usage.customer(), usage.customer()
    edge = [
        {
            "id": "before",
            "meter": "tokens",
            "timestamp": (START - timedelta(seconds=1)).isoformat(),
        },
        {"id": "at-start", "meter": "tokens", "timestamp": START.isoformat()},
        {
            "id": "last",
            "meter": "tokens",
            "timestamp": (END - timedelta(microseconds=1)).isoformat(),
        },
        {"id": "at-end", "meter": "tokens", "timestamp": END.isoformat()},
    ]
    for index, event in enumerate(edge):
        event["properties"] = {"tokens": 10**index}
    _store(database, usage, customer, edge)
    _store(
        database,
        usage,
        other,
        [{"id": "theirs", "meter": "tokens", "timestamp": _at(2), "properties": {"tokens": 99}}],
    )
    _store(database, usage, customer, [{"id": "count", "meter": "calls", "timestamp": _at(2)}])
    assert _aggregate(database, usage, customer, "tokens") == Decimal(110)
    assert _aggregate(database, usage, other, "tokens") == Decimal(99)


def test_latest_across_batches_is_the_last_received_on_a_tie(
    database: Database, usage: Usage
) -> None:
    customer = usage.customer()
    same = _at(10)
    _store(
        database,
        usage,
        customer,
        [{"id": "a", "meter": "seats", "timestamp": same, "properties": {"seats": 3}}],
    )
    _store(
        database,
        usage,
        customer,
        [{"id": "b", "meter": "seats", "timestamp": same, "properties": {"seats": 2}}],
    )
    _store(
        database,
        usage,
        customer,
        [{"id": "c", "meter": "seats", "timestamp": _at(9), "properties": {"seats": 9}}],
    )
    assert _aggregate(database, usage, customer, "seats") == Decimal(2)


def test_aggregate_many_answers_every_meter_in_one_call(database: Database, usage: Usage) -> None:
    customer = usage.customer()
    _store(
        database,
        usage,
        customer,
        [
            {"id": "1", "meter": "calls", "timestamp": _at(1)},
            {"id": "2", "meter": "tokens", "timestamp": _at(1), "properties": {"tokens": 4}},
            {"id": "3", "meter": "users", "timestamp": _at(1), "properties": {"user": "u"}},
        ],
    )
    with database.transaction(usage.tenant.id) as session:
        values = service.aggregate_many(
            session,
            usage.tenant.id,
            customer,
            ["calls", "tokens", "peak", "users", "seats"],
            START,
            END,
        )
        assert values == {
            "calls": Decimal(1),
            "tokens": Decimal(4),
            "peak": Decimal(0),
            "users": Decimal(1),
            "seats": Decimal(0),
        }
        assert service.aggregate_many(session, usage.tenant.id, customer, [], START, END) == {}
        meter = service.meter_by_code(session, usage.tenant.id, "tokens")
        assert meter is not None
        assert meter.aggregation == "sum"
        assert service.meter_by_code(session, usage.tenant.id, "nope") is None
        with pytest.raises(HisaabError) as unknown:
            service.aggregate(session, usage.tenant.id, customer, "nope", START, END)
        assert unknown.value.code == "resource_missing"


def test_another_tenant_sees_no_usage(database: Database, usage: Usage, other_tenant: Any) -> None:
    customer = usage.customer()
    _store(database, usage, customer, [{"id": "1", "meter": "calls", "timestamp": _at(1)}])
    with database.transaction(other_tenant.id) as session, pytest.raises(HisaabError):
        # Their tenant has no such meter, and RLS hides ours.
        service.aggregate(session, other_tenant.id, customer, "calls", START, END)
