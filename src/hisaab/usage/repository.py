"""All SQL of meters and usage events. Row-level security limits every query to the caller's
tenant; the explicit `tenant_id` conditions are there for the indexes (and for Citus).

Ingestion reads the customers, test_clocks and subscriptions tables directly (`customer_clocks`):
a batch refers to up to 10,000 customers, and asking the customers, clocks and subscriptions
services one customer at a time would be thousands of queries per request. The query only reads,
and the columns it reads (a customer's clock and current period) are the same those services
expose.
"""

from __future__ import annotations

import json
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


_CUSTOMER_CLOCKS = text(
    """
    SELECT c.id, c.external_id, tc.reached_time, s.period_start
    FROM customers c
    LEFT JOIN test_clocks tc ON tc.tenant_id = c.tenant_id AND tc.id = c.test_clock_id
    LEFT JOIN LATERAL (
        SELECT min(s.current_period_start) AS period_start
        FROM subscriptions s
        WHERE s.tenant_id = c.tenant_id AND s.customer_id = c.id
          AND s.status = ANY(CAST(:statuses AS text[]))
    ) s ON true
    WHERE c.tenant_id = :tenant_id
      AND (c.id = ANY(CAST(:ids AS text[])) OR c.external_id = ANY(CAST(:external_ids AS text[])))
    """
)


def customer_clocks(
    session: Session, tenant_id: str, ids: Collection[str], external_ids: Collection[str]
) -> list[tuple[str, str | None, datetime | None, datetime | None]]:
    """(id, external_id, test clock time or None, current period start or None) per customer
    named in a batch, by id or by external id, in one query."""
    if not ids and not external_ids:
        return []
    rows = session.execute(
        _CUSTOMER_CLOCKS,
        {
            "tenant_id": tenant_id,
            "ids": list(ids),
            "external_ids": list(external_ids),
            "statuses": list(BILLING_STATUSES),
        },
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


# One statement per batch. `usage_event_ids` decides which events are new (its primary key is the
# dedupe rule, and a concurrent request inserting the same id waits for this one and then skips
# it; ids go in sorted, so two requests sharing ids in different orders wait instead of
# deadlocking); only those go on to `usage_events`, in the batch's order so that `seq` is the
# received order. The batch arrives as one JSON document (intake.Rows says why).
_INSERT_EVENTS = text(
    """
    WITH input AS (
        SELECT * FROM ROWS FROM (
            json_to_recordset(CAST(:rows AS json))
            AS (i text, c text, m text, t timestamptz, v numeric, u text, p jsonb)
        ) WITH ORDINALITY AS t(i, c, m, t, v, u, p, n)
    ), fresh AS (
        INSERT INTO usage_event_ids (tenant_id, id, occurred_at)
        SELECT :tenant_id, i, t FROM input
        ORDER BY i
        ON CONFLICT DO NOTHING
        RETURNING id
    )
    INSERT INTO usage_events (
        tenant_id, customer_id, meter_id, occurred_at, id, value, unique_value, properties,
        received_at
    )
    SELECT :tenant_id, input.c, input.m, input.t, input.i, input.v, input.u, input.p,
           :received_at
    FROM input JOIN fresh ON fresh.id = input.i
    ORDER BY input.n
    """
)


def insert_events(session: Session, tenant_id: str, rows: Rows, received_at: datetime) -> int:
    """Store the events whose ids are new to the tenant; returns how many were stored."""
    if not rows:
        return 0
    result = session.execute(
        _INSERT_EVENTS,
        {
            "tenant_id": tenant_id,
            "rows": json.dumps(rows.records, separators=(",", ":"), ensure_ascii=False),
            "received_at": received_at,
        },
    )
    count: int = result.rowcount  # type: ignore[attr-defined]
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
