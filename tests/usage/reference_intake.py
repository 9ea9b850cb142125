"""The ingestion checks as they were before the single-pass rewrite (hisaab.usage.intake before
issue 7's speed work): `parse` then `admit`. Kept as the reference the fast `references` +
`check` of intake.py are compared with (test_intake_equivalence.py): both must accept, reject
(with the same code and message) and deduplicate exactly the same events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from hisaab.core.ids import looks_like
from hisaab.usage.intake import (
    _DISTINCT,
    _FIELDS,
    _METER_CODE,
    _NUMBER,
    MAX_ID_LENGTH,
    MAX_MAGNITUDE,
    CustomerClock,
    MeterRule,
    Rejection,
    Windows,
    earliest_accepted,
    has_nul,
    numeric_value,
    parse_timestamp,
    unique_value,
)


class Candidate(NamedTuple):
    """An event whose shape is right; what it refers to is not known to exist yet.

    A tuple, not a dataclass: thousands are made per request, and tuples are the cheapest."""

    position: int
    id: str
    customer_id: str | None
    external_customer_id: str | None
    meter: str
    occurred_at: datetime
    properties: dict[str, Any]


@dataclass
class Rows:
    """The admitted events as the insert takes them: one JSON object each, keyed by the short
    column names of `json_to_recordset` in usage/repository.py (i: id, c: customer id, m: meter
    id, t: timestamp, v: number, u: distinct value, p: properties). One `json.dumps` of these is
    far cheaper than adapting seven arrays element by element."""

    records: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records)


@dataclass
class Parsed:
    candidates: list[Candidate]
    rejections: list[Rejection]
    customer_ids: set[str]
    external_customer_ids: set[str]
    meter_codes: set[str]


@dataclass
class Admission:
    rows: Rows
    duplicates: int
    rejections: list[Rejection]


def _reject(index: int, event_id: str | None, code: str, message: str) -> Rejection:
    return Rejection(index=index, id=event_id, code=code, message=message)


def _parse_one(index: int, raw: Any, may_hold_nul: bool) -> Candidate | Rejection:
    if not isinstance(raw, dict):
        return _reject(index, None, "invalid_event", "An event must be a JSON object.")
    event_id = raw.get("id")
    if (
        not isinstance(event_id, str)
        or not 0 < len(event_id) <= MAX_ID_LENGTH
        or "\x00" in event_id
    ):
        return _reject(
            index,
            None,
            "invalid_event_id",
            f"id must be a non-empty string of at most {MAX_ID_LENGTH} characters, "
            "unique per event.",
        )
    if not _FIELDS.issuperset(raw):
        unknown = ", ".join(sorted(raw.keys() - _FIELDS))
        return _reject(index, event_id, "invalid_event", f"Unknown field(s): {unknown}.")
    customer_id = raw.get("customer_id")
    external_id = raw.get("external_customer_id")
    if (customer_id is None) == (external_id is None):
        return _reject(
            index,
            event_id,
            "customer_required",
            "Give exactly one of customer_id and external_customer_id.",
        )
    if customer_id is not None and not isinstance(customer_id, str):
        return _reject(index, event_id, "unknown_customer", "customer_id must be a string.")
    if external_id is not None and (
        not isinstance(external_id, str) or "\x00" in external_id or len(external_id) > 200
    ):
        return _reject(
            index, event_id, "unknown_customer", "external_customer_id must be a string."
        )
    meter = raw.get("meter")
    if not isinstance(meter, str) or not _METER_CODE.match(meter):
        return _reject(index, event_id, "unknown_meter", "meter must be the code of a meter.")
    occurred_at = parse_timestamp(raw.get("timestamp"))
    if occurred_at is None:
        return _reject(
            index,
            event_id,
            "invalid_timestamp",
            "timestamp must be an RFC 3339 timestamp with an offset, such as 2026-01-31T10:00:00Z.",
        )
    properties = raw.get("properties")
    if properties is None:
        properties = {}
    elif not isinstance(properties, dict):
        return _reject(index, event_id, "invalid_properties", "properties must be an object.")
    elif may_hold_nul and has_nul(properties):
        return _reject(
            index, event_id, "invalid_properties", "properties must not contain NUL characters."
        )
    return Candidate(index, event_id, customer_id, external_id, meter, occurred_at, properties)


def parse(events: Sequence[Any], may_hold_nul: bool = True) -> Parsed:
    """First pass. `may_hold_nul` False (the raw body has no `\\u0000`) skips the NUL search."""
    parsed = Parsed([], [], set(), set(), set())
    for index, raw in enumerate(events):
        outcome = _parse_one(index, raw, may_hold_nul)
        if isinstance(outcome, Rejection):
            parsed.rejections.append(outcome)
            continue
        parsed.candidates.append(outcome)
        if outcome.customer_id is not None:
            parsed.customer_ids.add(outcome.customer_id)
        else:
            assert outcome.external_customer_id is not None
            parsed.external_customer_ids.add(outcome.external_customer_id)
        parsed.meter_codes.add(outcome.meter)
    # Ids of the wrong shape are unknown without asking (and NUL never reaches PostgreSQL).
    parsed.customer_ids = {c for c in parsed.customer_ids if looks_like("cus", c)}
    return parsed


def _timing(
    event: Candidate, window: tuple[datetime, datetime], windows: Windows
) -> Rejection | None:
    if event.occurred_at > window[1]:
        minutes = int(windows.future.total_seconds() // 60)
        return _reject(
            event.position,
            event.id,
            "timestamp_in_future",
            f"timestamp is more than {minutes} minutes ahead of the customer's clock.",
        )
    if event.occurred_at < window[0]:
        return _reject(
            event.position,
            event.id,
            "timestamp_too_old",
            "timestamp is before the customer's current billing period "
            f"(events are accepted from {window[0].isoformat()}).",
        )
    return None


def _measure(event: Candidate, meter: MeterRule) -> tuple[str | int | None, str | None] | Rejection:
    """The meter's field of the event: (number, None) or (None, distinct text); a number as the
    JSON the insert sends (an integer as is, else decimal text PostgreSQL reads exactly)."""
    if meter.field is None:
        return None, None
    raw = event.properties.get(meter.field)
    if raw is None:
        return _reject(
            event.position,
            event.id,
            "missing_property",
            f"Meter {meter.code} needs properties.{meter.field}.",
        )
    if meter.aggregation == "unique_count":
        distinct = unique_value(raw)
        if distinct is not None:
            return None, distinct
        expected = _DISTINCT
    else:
        # Integers, the common case, need no Decimal: only their size is checked.
        if type(raw) is int and -MAX_MAGNITUDE < raw < MAX_MAGNITUDE:
            return raw, None
        number = numeric_value(raw)
        if number is not None:
            return str(number), None
        expected = _NUMBER
    return _reject(
        event.position,
        event.id,
        "invalid_property_value",
        f"properties.{meter.field} must be {expected}.",
    )


def admit(
    parsed: Parsed,
    customers_by_id: Mapping[str, CustomerClock],
    customers_by_external_id: Mapping[str, CustomerClock],
    meters: Mapping[str, MeterRule],
    windows: Windows,
) -> Admission:
    """Second pass: what needs the lookups; the first copy of an id in the batch wins."""
    rows = Rows()
    rejections = list(parsed.rejections)
    seen: set[str] = set()
    duplicates = 0
    bounds: dict[str, tuple[datetime, datetime]] = {}
    for event in parsed.candidates:
        if event.customer_id is not None:
            customer = customers_by_id.get(event.customer_id)
        else:
            customer = customers_by_external_id.get(event.external_customer_id or "")
        if customer is None:
            reference = event.customer_id or event.external_customer_id
            rejections.append(
                _reject(
                    event.position, event.id, "unknown_customer", f"No such customer: {reference}."
                )
            )
            continue
        meter = meters.get(event.meter)
        if meter is None:
            rejections.append(
                _reject(event.position, event.id, "unknown_meter", f"No such meter: {event.meter}.")
            )
            continue
        window = bounds.get(customer.id)
        if window is None:
            window = (earliest_accepted(customer, windows), customer.now + windows.future)
            bounds[customer.id] = window
        late_or_early = _timing(event, window, windows)
        if late_or_early is not None:
            rejections.append(late_or_early)
            continue
        measured = _measure(event, meter)
        if isinstance(measured, Rejection):
            rejections.append(measured)
            continue
        if event.id in seen:
            duplicates += 1
            continue
        seen.add(event.id)
        rows.records.append(
            {
                "i": event.id,
                "c": customer.id,
                "m": meter.id,
                "t": event.occurred_at.isoformat(),
                "v": measured[0],
                "u": measured[1],
                "p": event.properties,
            }
        )
    rejections.sort(key=lambda r: r.index)
    return Admission(rows=rows, duplicates=duplicates, rejections=rejections)
