"""Checking a batch of usage events, one event at a time, with no IO.

A batch is judged per event: a bad event is reported with a stable code and the others are still
stored, because a client streaming usage cannot afford to lose 999 good events over one bad one.
The checks run in two passes around the two lookups of the batch (customers, meters), so the
lookups are one query whatever the batch holds:

1. `references` collects what the events refer to (customer ids, external ids, meter codes),
   only what could exist (ids of the right shape, codes of the right pattern);
2. `check` judges each event in order: its shape (a JSON object with a usable id, no unknown
   field, one customer reference, a meter code, an RFC 3339 timestamp, properties an object),
   then what needs the lookups (known customer and meter, the meter's field, the timestamp
   against the customer's clock and billing period), and drops repeats of an id inside the
   batch; the rows it returns go to the database in one statement, where repeats of ids stored
   earlier are dropped too. An event gets the code of the first check it fails, in that order.

A meter's `field` names a top-level key of `properties` (no paths into nested objects).

Hot path: tens of thousands of events a second go through here, so `check` is one loop over the
parsed JSON (dicts) with everything it needs in local variables, and appends each admitted
event's values straight to the column lists the insert sends.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from hisaab.core.ids import looks_like

MAX_EVENTS = 10_000
MAX_ID_LENGTH = 255
MAX_EXTERNAL_ID_LENGTH = 200
MAX_UNIQUE_VALUE_LENGTH = 256
MAX_DECIMAL_PLACES = 18
MAX_MAGNITUDE = Decimal(10) ** 24
METER_CODE_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
_METER_CODE = re.compile(METER_CODE_PATTERN)
_FIELDS = frozenset(
    {"id", "customer_id", "external_customer_id", "meter", "timestamp", "properties"}
)


@dataclass(frozen=True)
class Windows:
    """How far from the customer's "now" an event's timestamp may be.

    Clocks of senders drift a little ahead; late events are counted while their period can still
    be billed (the current one, and the previous one for `late_grace` after it ended). With no
    billing period to go by, anything up to `fallback` old is taken.
    """

    future: timedelta = timedelta(minutes=5)
    late_grace: timedelta = timedelta(hours=24)
    fallback: timedelta = timedelta(days=35)


@dataclass(frozen=True)
class Rejection:
    index: int
    id: str | None
    code: str
    message: str


@dataclass(frozen=True)
class CustomerClock:
    """A customer as ingestion needs it: its "now" and the start of its billing period."""

    id: str
    external_id: str | None
    now: datetime
    period_start: datetime | None


@dataclass(frozen=True)
class MeterRule:
    id: str
    code: str
    aggregation: str
    field: str | None


@dataclass
class Rows:
    """The admitted events as the insert takes them: one list per column, in the batch's order
    (id, customer id, meter id, timestamp, the meter's number as decimal text, its distinct
    value, properties). Column lists go to PostgreSQL as binary arrays, which psycopg builds in
    C and PostgreSQL reads without parsing text."""

    ids: list[str] = field(default_factory=list)
    customer_ids: list[str] = field(default_factory=list)
    meter_ids: list[str] = field(default_factory=list)
    occurred_at: list[datetime] = field(default_factory=list)
    values: list[str | None] = field(default_factory=list)
    unique_values: list[str | None] = field(default_factory=list)
    properties: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    def append(
        self,
        event_id: str,
        customer_id: str,
        meter_id: str,
        occurred_at: datetime,
        measured: tuple[str | None, str | None],
        properties: dict[str, Any],
    ) -> None:
        self.ids.append(event_id)
        self.customer_ids.append(customer_id)
        self.meter_ids.append(meter_id)
        self.occurred_at.append(occurred_at)
        self.values.append(measured[0])
        self.unique_values.append(measured[1])
        self.properties.append(properties)


@dataclass
class References:
    """What the events of a batch refer to and could exist: the keys of the lookups."""

    customer_ids: set[str]
    external_customer_ids: set[str]
    meter_codes: set[str]


@dataclass
class Admission:
    rows: Rows
    duplicates: int
    rejections: list[Rejection]


def has_nul(value: Any) -> bool:
    """Whether text PostgreSQL cannot store (NUL) is anywhere in a JSON value."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False


def has_non_finite(value: Any) -> bool:
    """Whether a NaN or an infinity (which JSON cannot hold) is anywhere in a JSON value: the
    parser reads `NaN`, `Infinity` and numbers too large for a float (`1e400`) as floats."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(has_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(has_non_finite(v) for v in value)
    return False


def properties_json(rows: Rows) -> str | None:
    """The rows' properties as one JSON array, None if one holds a NaN or an infinity."""
    try:
        return json.dumps(
            rows.properties, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except ValueError:
        return None


def parse_timestamp(value: Any) -> datetime | None:
    """An RFC 3339 / ISO 8601 timestamp with an offset, in UTC; None if it is not one."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            return None
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def references(events: Sequence[Any]) -> References:
    """First pass: the customers and meters the events name (a superset of what `check` will
    look up: it is cheaper to ask for a few too many than to judge every event twice)."""
    customer_ids: set[str] = set()
    external_ids: set[str] = set()
    codes: set[str] = set()
    for raw in events:
        if not isinstance(raw, dict):
            continue
        customer_id = raw.get("customer_id")
        if isinstance(customer_id, str):
            customer_ids.add(customer_id)
        external_id = raw.get("external_customer_id")
        if isinstance(external_id, str):
            external_ids.add(external_id)
        code = raw.get("meter")
        if isinstance(code, str):
            codes.add(code)
    # Only what could exist is asked for (and NUL, which PostgreSQL cannot take, never is).
    return References(
        customer_ids={c for c in customer_ids if looks_like("cus", c)},
        external_customer_ids={
            e for e in external_ids if len(e) <= MAX_EXTERNAL_ID_LENGTH and "\x00" not in e
        },
        meter_codes={c for c in codes if _METER_CODE.match(c)},
    )


def numeric_value(value: Any) -> Decimal | None:
    """A property as an exact number (JSON number or decimal string), None if it is not one.

    Exact: a JSON number 0.1 is the decimal 0.1 (the text sent), not the nearest binary float."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int):
            number = Decimal(value)
        elif isinstance(value, float):
            if not math.isfinite(value):
                return None
            number = Decimal(repr(value))
        elif isinstance(value, str) and 0 < len(value) <= 64:
            number = Decimal(value)
        else:
            return None
    except InvalidOperation:
        return None
    if not number.is_finite() or abs(number) >= MAX_MAGNITUDE:
        return None
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_DECIMAL_PLACES:
        return None
    return number


def unique_value(value: Any) -> str | None:
    """A property as the text distinct values are counted by: `42` and `"42"` are one value."""
    if isinstance(value, str):
        return value if 0 < len(value) <= MAX_UNIQUE_VALUE_LENGTH else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        text = str(value)
        return text if len(text) <= MAX_UNIQUE_VALUE_LENGTH else None
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    return None


def earliest_accepted(customer: CustomerClock, windows: Windows) -> datetime:
    if customer.period_start is not None:
        return customer.period_start - windows.late_grace
    return customer.now - windows.fallback


_NUMBER = (
    f"a number (or decimal string) with at most {MAX_DECIMAL_PLACES} decimal places, "
    "less than 10^24 in size"
)
_DISTINCT = f"a string of at most {MAX_UNIQUE_VALUE_LENGTH} characters, a number or a boolean"


_INVALID_ID = (
    f"id must be a non-empty string of at most {MAX_ID_LENGTH} characters, unique per event."
)
_NO_CUSTOMER = "Give exactly one of customer_id and external_customer_id."
_BAD_METER = "meter must be the code of a meter."
_BAD_TIMESTAMP = (
    "timestamp must be an RFC 3339 timestamp with an offset, such as 2026-01-31T10:00:00Z."
)
_NUL_PROPERTIES = "properties must not contain NUL characters."
_NON_FINITE_PROPERTIES = "properties must not contain NaN or Infinity."


_UNMEASURED = (None, None)  # what a count meter takes of an event
Shaped = tuple[str, str | None, str | None, str, datetime, dict[str, Any]]


def _shape(
    index: int,
    raw: Any,
    valid_codes: set[str],
    may_hold_nul: bool,
    may_hold_non_finite: bool,
) -> Shaped | Rejection:
    """An event's own shape: (id, customer id, external id, meter code, timestamp, properties)."""
    if not isinstance(raw, dict):
        return Rejection(index, None, "invalid_event", "An event must be a JSON object.")
    event_id = raw.get("id")
    if (
        not isinstance(event_id, str)
        or not 0 < len(event_id) <= MAX_ID_LENGTH
        or "\x00" in event_id
    ):
        return Rejection(index, None, "invalid_event_id", _INVALID_ID)
    if not _FIELDS.issuperset(raw):
        unknown = ", ".join(sorted(raw.keys() - _FIELDS))
        return Rejection(index, event_id, "invalid_event", f"Unknown field(s): {unknown}.")
    customer_id = raw.get("customer_id")
    external_id = raw.get("external_customer_id")
    if (customer_id is None) == (external_id is None):
        return Rejection(index, event_id, "customer_required", _NO_CUSTOMER)
    if customer_id is not None and not isinstance(customer_id, str):
        return Rejection(index, event_id, "unknown_customer", "customer_id must be a string.")
    if external_id is not None and (
        not isinstance(external_id, str)
        or "\x00" in external_id
        or len(external_id) > MAX_EXTERNAL_ID_LENGTH
    ):
        return Rejection(
            index, event_id, "unknown_customer", "external_customer_id must be a string."
        )
    code = raw.get("meter")
    # Codes of the batch that match the pattern were collected by `references`.
    if not isinstance(code, str) or (code not in valid_codes and not _METER_CODE.match(code)):
        return Rejection(index, event_id, "unknown_meter", _BAD_METER)
    occurred_at = parse_timestamp(raw.get("timestamp"))
    if occurred_at is None:
        return Rejection(index, event_id, "invalid_timestamp", _BAD_TIMESTAMP)
    properties = raw.get("properties")
    if properties is None:
        properties = {}
    elif not isinstance(properties, dict):
        return Rejection(index, event_id, "invalid_properties", "properties must be an object.")
    elif may_hold_nul and has_nul(properties):
        return Rejection(index, event_id, "invalid_properties", _NUL_PROPERTIES)
    elif may_hold_non_finite and has_non_finite(properties):
        return Rejection(index, event_id, "invalid_properties", _NON_FINITE_PROPERTIES)
    return event_id, customer_id, external_id, code, occurred_at, properties


def _measure(
    index: int, event_id: str, properties: dict[str, Any], meter: MeterRule, field: str
) -> tuple[str | None, str | None] | Rejection:
    """The meter's field of the event: (number as decimal text, None) or (None, distinct text)."""
    raw = properties.get(field)
    if raw is None:
        return Rejection(
            index, event_id, "missing_property", f"Meter {meter.code} needs properties.{field}."
        )
    if meter.aggregation == "unique_count":
        distinct = unique_value(raw)
        if distinct is not None:
            return None, distinct
        expected = _DISTINCT
    else:
        # Integers, the common case, need no Decimal: only their size is checked.
        if type(raw) is int and -MAX_MAGNITUDE < raw < MAX_MAGNITUDE:
            return str(raw), None
        number = numeric_value(raw)
        if number is not None:
            return str(number), None
        expected = _NUMBER
    return Rejection(
        index, event_id, "invalid_property_value", f"properties.{field} must be {expected}."
    )


def _timing(
    index: int,
    event_id: str,
    occurred_at: datetime,
    window: tuple[datetime, datetime],
    windows: Windows,
) -> Rejection:
    """Why a timestamp outside the customer's window is refused."""
    if occurred_at > window[1]:
        minutes = int(windows.future.total_seconds() // 60)
        return Rejection(
            index,
            event_id,
            "timestamp_in_future",
            f"timestamp is more than {minutes} minutes ahead of the customer's clock.",
        )
    return Rejection(
        index,
        event_id,
        "timestamp_too_old",
        "timestamp is before the customer's current billing period "
        f"(events are accepted from {window[0].isoformat()}).",
    )


def check(
    events: Sequence[Any],
    references: References,
    customers_by_id: Mapping[str, CustomerClock],
    customers_by_external_id: Mapping[str, CustomerClock],
    meters: Mapping[str, MeterRule],
    windows: Windows,
    may_hold_nul: bool = True,
    may_hold_non_finite: bool = False,
) -> Admission:
    """Second pass: each event judged in order; the first good copy of an id in the batch wins.

    `may_hold_nul` False (the raw body has no `\\u0000`) skips the NUL search in properties;
    `may_hold_non_finite` True looks for NaN and infinities in them (which the insert cannot
    send: `properties_json` tells when a batch needs it)."""
    rows = Rows()
    rejections: list[Rejection] = []
    seen: set[str] = set()
    duplicates = 0
    valid_codes = references.meter_codes
    bounds: dict[str, tuple[datetime, datetime]] = {}
    for index, raw in enumerate(events):
        shaped = _shape(index, raw, valid_codes, may_hold_nul, may_hold_non_finite)
        if isinstance(shaped, Rejection):
            rejections.append(shaped)
            continue
        event_id, customer_id, external_id, code, occurred_at, properties = shaped
        if customer_id is not None:
            customer = customers_by_id.get(customer_id)
        else:
            customer = customers_by_external_id.get(external_id)  # type: ignore[arg-type]
        if customer is None:
            reference = customer_id or external_id
            rejections.append(
                Rejection(index, event_id, "unknown_customer", f"No such customer: {reference}.")
            )
            continue
        meter = meters.get(code)
        if meter is None:
            rejections.append(
                Rejection(index, event_id, "unknown_meter", f"No such meter: {code}.")
            )
            continue
        window = bounds.get(customer.id)
        if window is None:
            window = (earliest_accepted(customer, windows), customer.now + windows.future)
            bounds[customer.id] = window
        if not window[0] <= occurred_at <= window[1]:
            rejections.append(_timing(index, event_id, occurred_at, window, windows))
            continue
        measured: tuple[str | None, str | None] = _UNMEASURED
        if meter.field is not None:
            outcome = _measure(index, event_id, properties, meter, meter.field)
            if isinstance(outcome, Rejection):
                rejections.append(outcome)
                continue
            measured = outcome
        if event_id in seen:
            duplicates += 1
            continue
        seen.add(event_id)
        rows.append(event_id, customer.id, meter.id, occurred_at, measured, properties)
    return Admission(rows=rows, duplicates=duplicates, rejections=rejections)
