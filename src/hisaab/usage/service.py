"""Use cases of meters and usage events, and what billing asks of them.

Other domains call `meter_by_code`, `meters_by_codes`, `all_meters`, `aggregate` and
`aggregate_many`: the quantity of a meter for a customer over a half-open period [start, end), per
the meter's aggregation, from every event stored with a timestamp in that period, including events
that arrived late (after the period ended, within the grace window).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hisaab.catalog import service as catalog
from hisaab.clocks import service as clocks
from hisaab.core.errors import HisaabError, conflict, invalid, not_found
from hisaab.core.ids import new_id
from hisaab.core.lookup import found
from hisaab.core.pagination import PageRequest, Slice
from hisaab.customers import service as customers
from hisaab.jobs import queue
from hisaab.tenants import service as tenants
from hisaab.usage import intake, repository
from hisaab.usage.intake import CustomerClock, MeterRule, Windows
from hisaab.usage.models import Meter
from hisaab.usage.schemas import (
    CustomerUsageOut,
    MeterCreate,
    MeterOut,
    MeterUsage,
    UsageEventError,
    UsageEventsAccepted,
)

WINDOWS = Windows()
# Ahead of today, how many monthly partitions of usage_events the maintenance job keeps ready.
PARTITION_MONTHS_AHEAD = 3


def present_meter(meter: Meter) -> MeterOut:
    return MeterOut.model_validate(meter, from_attributes=True)


def create_meter(session: Session, tenant_id: str, data: MeterCreate, now: datetime) -> Meter:
    if data.aggregation == "count" and data.field is not None:
        raise invalid(
            "meter_field_not_allowed",
            "A count meter counts events; it takes no field.",
            ("body", "field"),
        )
    if data.aggregation != "count" and data.field is None:
        raise invalid(
            "meter_field_required",
            f"A {data.aggregation} meter needs the event property to aggregate in field.",
            ("body", "field"),
        )
    meter = Meter(
        tenant_id=tenant_id,
        id=new_id("mtr"),
        code=data.code,
        name=data.name or data.code,
        aggregation=data.aggregation,
        field=data.field,
        created_at=now,
    )
    try:
        repository.add_meter(session, meter)
    except IntegrityError as exc:
        if repository.violated_constraint(exc) == repository.CODE_CONSTRAINT:
            raise conflict("meter_code_taken", f"A meter with code {data.code} exists.") from None
        raise
    return meter


def get_meter(session: Session, tenant_id: str, meter_id: str) -> Meter:
    return found(
        "meter", "mtr", meter_id, lambda: repository.get_meter(session, tenant_id, meter_id)
    )


def list_meters(session: Session, page: PageRequest, code: str | None = None) -> Slice[Meter]:
    return repository.list_meters(session, page, code)


def meter_by_code(session: Session, tenant_id: str, code: str) -> Meter | None:
    """The tenant's meter with this code, or None."""
    return meters_by_codes(session, tenant_id, [code]).get(code)


def all_meters(session: Session, tenant_id: str) -> list[Meter]:
    """Every meter of the tenant, by code."""
    return repository.all_meters(session, tenant_id)


def meters_by_codes(session: Session, tenant_id: str, codes: Sequence[str]) -> dict[str, Meter]:
    """The tenant's meters among these codes, by code (unknown codes are left out)."""
    wanted = [c for c in codes if isinstance(c, str) and "\x00" not in c]
    if not wanted:
        return {}
    return {m.code: m for m in repository.meters_by_codes(session, tenant_id, wanted)}


# --- ingestion ------------------------------------------------------------------------------


def too_many_events(count: int) -> HisaabError:
    return HisaabError(
        code="too_many_events",
        status=413,
        title="Payload too large",
        detail=f"{count} events in one call; send at most {intake.MAX_EVENTS:,} per call.",
    )


def _lookups(
    session: Session, tenant_id: str, references: intake.References, now: datetime
) -> tuple[dict[str, CustomerClock], dict[str, CustomerClock], dict[str, MeterRule]]:
    """The customers (by id, by external id) and meters (by code) a batch names, in one query."""
    customer_rows, meter_rows = repository.ingest_lookups(
        session,
        tenant_id,
        references.customer_ids,
        references.external_customer_ids,
        references.meter_codes,
    )
    by_id: dict[str, CustomerClock] = {}
    by_external_id: dict[str, CustomerClock] = {}
    for customer_id, external_id, clock_time, period_start in customer_rows:
        customer = CustomerClock(
            id=customer_id,
            external_id=external_id,
            now=clock_time.astimezone(UTC) if clock_time is not None else now,
            period_start=period_start,
        )
        by_id[customer_id] = customer
        if external_id is not None:
            by_external_id[external_id] = customer
    meters = {
        code: MeterRule(id=meter_id, code=code, aggregation=aggregation, field=field)
        for meter_id, code, aggregation, field in meter_rows
    }
    return by_id, by_external_id, meters


THRESHOLD_TASK = "check_usage_thresholds"
THRESHOLD_QUEUE = "usage"


def ingest(
    session: Session,
    tenant_id: str,
    events: Sequence[Any],
    now: datetime,
    *,
    may_hold_nul: bool = True,
    windows: Windows = WINDOWS,
) -> UsageEventsAccepted:
    """Check each event, store the good ones whose ids are new, report the rest.

    `events` is the parsed JSON array as sent; `now` is the request's time (customers on a test
    clock are judged by their clock instead).
    """
    if len(events) > intake.MAX_EVENTS:
        raise too_many_events(len(events))
    references = intake.references(events)
    by_id, by_external_id, meters = _lookups(session, tenant_id, references, now)
    admission = intake.check(
        events, references, by_id, by_external_id, meters, windows, may_hold_nul
    )
    properties = intake.properties_json(admission.rows)
    if properties is None:  # rare: a NaN or an infinity in some properties; judge again
        admission = intake.check(
            events,
            references,
            by_id,
            by_external_id,
            meters,
            windows,
            may_hold_nul,
            may_hold_non_finite=True,
        )
        properties = intake.properties_json(admission.rows) or "[]"
    stored = repository.insert_events(session, tenant_id, admission.rows, properties, now)
    if stored and catalog.has_quota_on(session, sorted(meters)):
        # Quotas are checked after the commit, off the hot path: one job per batch, naming the
        # customers whose usage grew (entitlements announces what they reached).
        customers_used = sorted(set(admission.rows.customer_ids))
        queue.enqueue(
            session,
            THRESHOLD_TASK,
            {"tenant_id": tenant_id, "customer_ids": customers_used},
            queue=THRESHOLD_QUEUE,
        )
    return UsageEventsAccepted(
        accepted=stored,
        duplicates=admission.duplicates + len(admission.rows) - stored,
        rejected=len(admission.rejections),
        errors=[
            UsageEventError(index=r.index, id=r.id, code=r.code, message=r.message)
            for r in admission.rejections
        ],
    )


# --- aggregation ----------------------------------------------------------------------------


def aggregate_many(
    session: Session,
    tenant_id: str,
    customer_id: str,
    meter_codes: Sequence[str],
    start: datetime,
    end: datetime,
) -> dict[str, Decimal]:
    """Each meter's quantity for the customer over [start, end), in one query; 0 without events.

    An unknown meter code is 404 `resource_missing` (a plan's charges name meters that exist).
    """
    codes = list(dict.fromkeys(meter_codes))
    if not codes:
        return {}
    unknown = [c for c in codes if not isinstance(c, str) or "\x00" in c]
    if unknown:
        raise not_found("meter", str(unknown[0]))
    values = repository.aggregate_many(session, tenant_id, customer_id, codes, start, end)
    for code in codes:
        if code not in values:
            raise not_found("meter", code)
    return {code: values[code] for code in codes}


def aggregate(
    session: Session,
    tenant_id: str,
    customer_id: str,
    meter_code: str,
    start: datetime,
    end: datetime,
) -> Decimal:
    """The meter's quantity for the customer over [start, end); 0 without events."""
    return aggregate_many(session, tenant_id, customer_id, [meter_code], start, end)[meter_code]


def decimal_text(value: Decimal) -> str:
    """A quantity as the API writes it: no exponent, no trailing zeros (`12.5`, `1000`)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def calendar_month(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The calendar month around `now` in the zone, as UTC instants [start, end)."""
    local = now.astimezone(zone)
    start = datetime(local.year, local.month, 1, tzinfo=zone)
    following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start.astimezone(UTC), following.astimezone(UTC)


def customer_usage(
    session: Session,
    tenant_id: str,
    customer_id: str,
    meter_code: str | None,
    billing_period: tuple[datetime, datetime] | None,
    now: datetime,
) -> CustomerUsageOut:
    """What the customer has used so far in `billing_period` (its subscription's current
    period; None: the calendar month of the customer's clock in the tenant's zone), per meter."""
    customer = customers.get_customer(session, tenant_id, customer_id)
    if meter_code is not None:
        meter = meter_by_code(session, tenant_id, meter_code)
        if meter is None:
            raise not_found("meter", meter_code)
        meters = [meter]
    else:
        meters = all_meters(session, tenant_id)
    period = billing_period
    source = "subscription"
    if period is None:
        source = "calendar_month"
        clock_now = (
            clocks.clock_for(session, tenant_id, customer.test_clock_id).now()
            if customer.test_clock_id
            else now
        )
        zone = ZoneInfo(tenants.get_tenant(session, tenant_id).timezone)
        period = calendar_month(clock_now, zone)
    start, end = period
    values = (
        repository.aggregate_many(
            session, tenant_id, customer.id, [m.code for m in meters], start, end
        )
        if meters
        else {}
    )
    return CustomerUsageOut.model_validate(
        {
            "customer_id": customer.id,
            "period_start": start,
            "period_end": end,
            "period_source": source,
            "meters": [
                MeterUsage.model_validate(
                    {
                        "meter": m.code,
                        "aggregation": m.aggregation,
                        "value": decimal_text(values.get(m.code, Decimal(0))),
                    }
                )
                for m in meters
            ],
        }
    )


def maintain_partitions(session: Session, months_ahead: int = PARTITION_MONTHS_AHEAD) -> int:
    """Keep monthly partitions of usage events ready ahead of time, and give months that landed
    in the DEFAULT partition (test clocks far from today) their own."""
    return repository.maintain_partitions(session, months_ahead)
