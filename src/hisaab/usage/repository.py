"""All SQL of meters and usage events. Row-level security limits every query to the caller's
tenant; the explicit `tenant_id` conditions are there for the indexes (and for Citus).

Ingestion reads the customers, test_clocks and subscriptions tables directly (`ingest_lookups`):
a batch refers to up to 10,000 customers, and asking the customers, clocks and subscriptions
services one customer at a time would be thousands of queries per request. The query only reads,
and the columns it reads (a customer's clock and current period) are the same those services
expose.

The two statements of ingestion (`ingest_lookups`, `insert_events`) are the hot path of usage:
they go to psycopg as driver SQL with binary array parameters (`%b`), which psycopg builds in C
and PostgreSQL reads without parsing text, and without SQLAlchemy compiling anything.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hisaab.core.pagination import PageRequest, Slice, fetch_page
from hisaab.usage.intake import Rows
from hisaab.usage.models import Meter

CODE_CONSTRAINT = "uq_meters_tenant_id_code"
# The subscription statuses whose current period is the customer's billing period.
BILLING_STATUSES = ("active", "past_due", "unpaid", "trialing")


def violated_constraint(exc: IntegrityError) -> str | None:
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    return name if isinstance(name, str) else None


def add_meter(session: Session, meter: Meter) -> None:
    session.add(meter)
    session.flush()


def get_meter(session: Session, tenant_id: str, meter_id: str) -> Meter | None:
    return session.get(Meter, (tenant_id, meter_id))


def list_meters(session: Session, page: PageRequest, code: str | None) -> Slice[Meter]:
    statement = select(Meter)
    if code is not None:
        statement = statement.where(Meter.code == code)
    return fetch_page(session, statement, Meter.id, page)


def meters_by_codes(session: Session, tenant_id: str, codes: Collection[str]) -> list[Meter]:
    return list(
        session.scalars(
            select(Meter).where(Meter.tenant_id == tenant_id, Meter.code.in_(list(codes)))
        )
    )


def all_meters(session: Session, tenant_id: str) -> list[Meter]:
    return list(
        session.scalars(select(Meter).where(Meter.tenant_id == tenant_id).order_by(Meter.code))
    )


# Customers (by id or external id, with their test clock's time and the start of their billing
# period) and meters named in a batch, in one round trip: rows of kind 'c' or 'm'.
_INGEST_LOOKUPS = """
    SELECT 'c', c.id, c.external_id, tc.reached_time, s.period_start, NULL, NULL
    FROM customers c
    LEFT JOIN test_clocks tc ON tc.tenant_id = c.tenant_id AND tc.id = c.test_clock_id
    LEFT JOIN LATERAL (
        SELECT min(s.current_period_start) AS period_start
        FROM subscriptions s
        WHERE s.tenant_id = c.tenant_id AND s.customer_id = c.id
          AND s.status = ANY(%(statuses)b::text[])
    ) s ON true
    WHERE c.tenant_id = %(tenant_id)s
      AND (c.id = ANY(%(ids)b::text[]) OR c.external_id = ANY(%(external_ids)b::text[]))
    UNION ALL
    SELECT 'm', m.id, m.code, NULL, NULL, m.aggregation, m.field
    FROM meters m
    WHERE m.tenant_id = %(tenant_id)s AND m.code = ANY(%(codes)b::text[])
"""

CustomerRow = tuple[str, str | None, datetime | None, datetime | None]
MeterRow = tuple[str, str, str, str | None]


def ingest_lookups(
    session: Session,
    tenant_id: str,
    ids: Collection[str],
    external_ids: Collection[str],
    meter_codes: Collection[str],
) -> tuple[list[CustomerRow], list[MeterRow]]:
    """What ingestion needs to know of the customers and meters a batch names, in one query:
    (id, external_id, test clock time or None, current period start or None) per customer
    found by id or external id, and (id, code, aggregation, field) per meter found by code."""
    customers: list[CustomerRow] = []
    meters: list[MeterRow] = []
    if not ids and not external_ids and not meter_codes:
        return customers, meters
    rows = session.connection().exec_driver_sql(
        _INGEST_LOOKUPS,
        {
            "tenant_id": tenant_id,
            "ids": list(ids),
            "external_ids": list(external_ids),
            "codes": list(meter_codes),
            "statuses": list(BILLING_STATUSES),
        },
    )
    for kind, key, external_id_or_code, clock_time, period_start, aggregation, field in rows:
        if kind == "c":
            customers.append((key, external_id_or_code, clock_time, period_start))
        else:
            meters.append((key, external_id_or_code, aggregation, field))
    return customers, meters


# One statement per batch: `usage_insert_events` (migration 0018). `usage_event_ids` decides
# which events are new (its primary key is the dedupe rule, and a concurrent request inserting
# the same id waits for this one and then skips it; ids go in sorted, so two requests sharing ids
# in different orders wait instead of deadlocking); only those go on to `usage_events`, in the
# batch's order so that `seq` is the received order. Each column is one binary array
# (intake.Rows); the properties are one JSON array, split by `jsonb_array_elements` in step with
# the arrays.
_INSERT_EVENTS = """
    SELECT usage_insert_events(
        %(tenant_id)s, %(ids)b::text[], %(customers)b::text[], %(meters)b::text[],
        %(times)b::timestamptz[], %(values)b::text[], %(uniques)b::text[],
        CAST(%(properties)s AS jsonb), %(received_at)s
    )
"""


def insert_events(
    session: Session, tenant_id: str, rows: Rows, properties: str, received_at: datetime
) -> int:
    """Store the events whose ids are new to the tenant; returns how many were stored.

    `properties` is the JSON array of the rows' properties (intake.properties_json)."""
    if not rows:
        return 0
    result = session.connection().exec_driver_sql(
        _INSERT_EVENTS,
        {
            "tenant_id": tenant_id,
            "ids": rows.ids,
            "customers": rows.customer_ids,
            "meters": rows.meter_ids,
            "times": rows.occurred_at,
            "values": rows.values,
            "uniques": rows.unique_values,
            "properties": properties,
            "received_at": received_at,
        },
    )
    count: int = result.scalar_one()
    return count


# One statement for any number of meters: each meter's aggregate is a subquery on the
# aggregation index, and CASE runs only the one its meter asks for.
_WHERE = """
    FROM usage_events e
    WHERE e.tenant_id = m.tenant_id AND e.customer_id = :customer_id AND e.meter_id = m.id
      AND e.occurred_at >= :start AND e.occurred_at < :end
"""
_AGGREGATE = text(
    f"""
    SELECT m.code, CASE m.aggregation
        WHEN 'count' THEN (SELECT count(*) {_WHERE})::numeric
        WHEN 'sum' THEN (SELECT coalesce(sum(e.value), 0) {_WHERE})
        WHEN 'max' THEN (SELECT coalesce(max(e.value), 0) {_WHERE})
        WHEN 'unique_count' THEN (SELECT count(DISTINCT e.unique_value) {_WHERE})::numeric
        WHEN 'latest' THEN coalesce(
            (SELECT e.value {_WHERE} ORDER BY e.occurred_at DESC, e.seq DESC LIMIT 1), 0)
    END AS value
    FROM meters m
    WHERE m.tenant_id = :tenant_id AND m.code = ANY(CAST(:codes AS text[]))
    """
)


def aggregate_many(
    session: Session,
    tenant_id: str,
    customer_id: str,
    meter_codes: Sequence[str],
    start: datetime,
    end: datetime,
) -> dict[str, Decimal]:
    """Each named meter's aggregate over [start, end); meters that do not exist are left out."""
    rows = session.execute(
        _AGGREGATE,
        {
            "tenant_id": tenant_id,
            "customer_id": customer_id,
            "codes": list(meter_codes),
            "start": start,
            "end": end,
        },
    )
    return {code: Decimal(value) for code, value in rows}


def maintain_partitions(session: Session, months_ahead: int) -> int:
    """Create missing monthly partitions (see migration 0013); returns how many were made."""
    created: Any = session.execute(
        text("SELECT usage_maintain_partitions(:ahead)"), {"ahead": months_ahead}
    ).scalar_one()
    return int(created)
