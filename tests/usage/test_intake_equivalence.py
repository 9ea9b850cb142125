"""The single-pass checks of ingestion (`intake.references` + `intake.check`) judge every event as
the two-pass checks they replaced did (tests/usage/reference_intake.py): same events stored, in
the same order with the same values, same duplicates, same rejections with the same code and
message. And the fast body parser of POST /v1/events reads or refuses exactly what the pydantic
model did."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hisaab.core.errors import HisaabError
from hisaab.core.problems import from_validation_error
from hisaab.usage import api, intake
from hisaab.usage.intake import CustomerClock, MeterRule, Windows
from tests.usage import reference_intake

NOW = datetime(2031, 6, 15, 12, tzinfo=UTC)
KNOWN = "cus_01jd3k0000000000000000000a"
ON_PERIOD = "cus_01jd3k0000000000000000000b"
ON_CLOCK = "cus_01jd3k0000000000000000000c"
CUSTOMERS = {
    KNOWN: CustomerClock(KNOWN, "ext-1", NOW, None),
    ON_PERIOD: CustomerClock(ON_PERIOD, None, NOW, datetime(2031, 6, 10, tzinfo=UTC)),
    ON_CLOCK: CustomerClock(ON_CLOCK, "ext-2", datetime(2030, 1, 1, tzinfo=UTC), None),
}
METERS = {
    "calls": MeterRule("mtr_01jd3k0000000000000000000a", "calls", "count", None),
    "tokens": MeterRule("mtr_01jd3k0000000000000000000b", "tokens", "sum", "tokens"),
    "peak": MeterRule("mtr_01jd3k0000000000000000000c", "peak", "max", "gb"),
    "users": MeterRule("mtr_01jd3k0000000000000000000d", "users", "unique_count", "user"),
    "seats": MeterRule("mtr_01jd3k0000000000000000000e", "seats", "latest", "seats"),
}
WINDOWS = Windows()

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**26), max_value=10**26),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["12.5", "1e3", "NaN", "", "x", "0.0000000000000000001", "7" * 30]),
    st.text(max_size=300),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
ids = st.one_of(
    st.sampled_from(["a", "b", "c", "a\x00", "", "x" * 255, "x" * 256]),
    st.text(max_size=5),
    st.integers(),
    st.none(),
)
customer_ids = st.one_of(
    st.sampled_from(
        [KNOWN, ON_PERIOD, ON_CLOCK, "cus_01jd3k0000000000000000000z", "cus_nope", "cus\x00"]
    ),
    st.integers(),
    st.none(),
)
external_ids = st.one_of(
    st.sampled_from(["ext-1", "ext-2", "ext-3", "", "e\x00", "e" * 201]), st.integers(), st.none()
)
meters = st.one_of(
    st.sampled_from([*METERS, "nope", "Bad Code", "", "a" * 65, "calls\x00"]),
    st.integers(),
    st.none(),
)
timestamps = st.one_of(
    st.sampled_from(
        [
            "2031-06-15T11:00:00Z",
            "2031-06-15T12:05:00Z",
            "2031-06-15T12:05:01Z",
            "2031-06-15T17:30:00+05:30",
            "2031-05-11T12:00:00Z",
            "2031-05-11T11:59:59Z",
            "2031-06-09T00:00:00Z",
            "2029-12-31T23:00:00Z",
            "2031-06-15T11:00:00",
            "2031-06-15",
            "0001-01-01T00:00:00+05:00",
            "soon",
            "2031-06-15T11:00:00Z" + " " * 60,
        ]
    ),
    st.integers(),
    st.none(),
)
properties = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(["tokens", "gb", "user", "seats", "other", "k\x00"]), values, max_size=3
    ),
    st.dictionaries(st.just("nested"), st.just({"deep": "x\x00"}), max_size=1),
    st.lists(st.integers(), max_size=2),
    st.text(max_size=3),
)


@st.composite
def events(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 20)) == 0:
        return draw(st.one_of(st.integers(), st.text(max_size=3), st.none(), st.lists(st.none())))
    event: dict[str, Any] = {}
    for key, strategy, presence in (
        ("id", ids, 19),
        ("customer_id", customer_ids, 15),
        ("external_customer_id", external_ids, 4),
        ("meter", meters, 19),
        ("timestamp", timestamps, 19),
        ("properties", properties, 14),
    ):
        if draw(st.integers(0, 19)) < presence:
            event[key] = draw(strategy)
    if draw(st.integers(0, 30)) == 0:
        event[draw(st.sampled_from(["color", "Id", ""]))] = 1
    return event


def _reference(batch: list[Any], may_hold_nul: bool) -> tuple[list[Any], int, list[Any]]:
    parsed = reference_intake.parse(batch, may_hold_nul)
    by_id = {c: CUSTOMERS[c] for c in parsed.customer_ids if c in CUSTOMERS}
    by_external = {
        c.external_id: c
        for c in CUSTOMERS.values()
        if c.external_id in parsed.external_customer_ids
    }
    meters_found = {m: METERS[m] for m in parsed.meter_codes if m in METERS}
    admission = reference_intake.admit(parsed, by_id, by_external, meters_found, WINDOWS)
    rows = [
        (r["i"], r["c"], r["m"], r["t"], None if r["v"] is None else str(r["v"]), r["u"], r["p"])
        for r in admission.rows.records
    ]
    return rows, admission.duplicates, admission.rejections


def _fast(batch: list[Any], may_hold_nul: bool) -> tuple[list[Any], int, list[Any]]:
    refs = intake.references(batch)
    by_id = {c: CUSTOMERS[c] for c in refs.customer_ids if c in CUSTOMERS}
    by_external = {
        c.external_id: c for c in CUSTOMERS.values() if c.external_id in refs.external_customer_ids
    }
    meters_found = {m: METERS[m] for m in refs.meter_codes if m in METERS}
    admission = intake.check(batch, refs, by_id, by_external, meters_found, WINDOWS, may_hold_nul)
    r = admission.rows
    rows = [
        (i, c, m, t.isoformat(), v, u, p)
        for i, c, m, t, v, u, p in zip(
            r.ids,
            r.customer_ids,
            r.meter_ids,
            r.occurred_at,
            r.values,
            r.unique_values,
            r.properties,
            strict=True,
        )
    ]
    return rows, admission.duplicates, admission.rejections


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events(), max_size=12), st.booleans())
def test_check_judges_every_event_as_the_two_pass_checks_did(
    batch: list[Any], may_hold_nul: bool
) -> None:
    assert _fast(batch, may_hold_nul) == _reference(batch, may_hold_nul)


def test_a_table_of_every_rejection_agrees() -> None:
    at = "2031-06-15T11:00:00Z"
    base = {"id": "e", "customer_id": KNOWN, "meter": "calls", "timestamp": at}
    batch: list[Any] = [
        base,
        {**base, "id": "t1", "meter": "tokens", "properties": {"tokens": 12.5}},
        {**base, "id": "t2", "meter": "tokens", "properties": {"tokens": "7.5"}},
        {**base, "id": "t3", "meter": "tokens", "properties": {"tokens": 10**24}},
        {**base, "id": "t4", "meter": "tokens", "properties": {"tokens": True}},
        {**base, "id": "t5", "meter": "tokens"},
        {**base, "id": "u1", "meter": "users", "properties": {"user": 42}},
        {**base, "id": "u2", "meter": "users", "properties": {"user": {"a": 1}}},
        {**base, "id": "bad-meter", "meter": "nope"},
        {**base, "id": "bad-pattern", "meter": "Bad", "timestamp": "x"},
        {**base, "id": "ext", "customer_id": None, "external_customer_id": "ext-1"},
        {"id": "ext2", "external_customer_id": "ext-2", "meter": "calls", "timestamp": at},
        {"id": "both", "customer_id": KNOWN, "external_customer_id": "ext-1"},
        {**base, "id": "future", "timestamp": "2031-06-15T12:06:00Z"},
        {**base, "id": "old", "customer_id": ON_PERIOD, "timestamp": "2031-06-08T23:59:59Z"},
        {**base, "id": "naive", "timestamp": "2031-06-15T11:00:00"},
        {**base, "id": ""},
        {**base, "id": "extra", "color": "red"},
        {**base, "id": "props", "properties": [1]},
        {**base, "id": "nul", "properties": {"a": ["x\x00"]}},
        {**base, "id": "e"},
        42,
    ]
    fast = _fast(batch, True)
    assert fast == _reference(batch, True)
    assert [(r.id, r.code) for r in fast[2]] == [
        ("t3", "invalid_property_value"),
        ("t4", "invalid_property_value"),
        ("t5", "missing_property"),
        ("u2", "invalid_property_value"),
        ("bad-meter", "unknown_meter"),
        ("bad-pattern", "unknown_meter"),
        ("ext2", "timestamp_in_future"),  # its customer's test clock is in 2030
        ("both", "customer_required"),
        ("future", "timestamp_in_future"),
        ("old", "timestamp_too_old"),
        ("naive", "invalid_timestamp"),
        (None, "invalid_event_id"),
        ("extra", "invalid_event"),
        ("props", "invalid_properties"),
        ("nul", "invalid_properties"),
        (None, "invalid_event"),
    ]
    assert [row[0] for row in fast[0]] == ["e", "t1", "t2", "u1", "ext"]
    assert fast[1] == 1  # the second "e"


def test_non_finite_numbers_in_properties_are_refused_when_asked() -> None:
    at = "2031-06-15T11:00:00Z"
    good = {"customer_id": KNOWN, "meter": "calls", "timestamp": at}
    batch = [
        {"id": "a", **good},
        {"id": "b", **good, "properties": {"x": [float("nan")]}},
        {"id": "c", **good, "properties": {"x": float("inf")}},
    ]
    refs = intake.references(batch)
    lenient = intake.check(batch, refs, CUSTOMERS, {}, METERS, WINDOWS)
    assert intake.properties_json(lenient.rows) is None
    strict = intake.check(batch, refs, CUSTOMERS, {}, METERS, WINDOWS, may_hold_non_finite=True)
    assert strict.rows.ids == ["a"]
    assert [(r.id, r.code) for r in strict.rejections] == [
        ("b", "invalid_properties"),
        ("c", "invalid_properties"),
    ]
    assert intake.properties_json(strict.rows) == "[{}]"


def _outcome(body: bytes) -> str:
    try:
        return repr(("ok", api._parse_batch(body)))
    except HisaabError as exc:
        return repr(("problem", exc.problem()))


def _model_outcome(body: bytes) -> str:
    """What _parse_batch answered before its fast path: the model's events or its problem."""
    try:
        return repr(("ok", api._RawBatch.model_validate_json(body).events))
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        return repr(("problem", from_validation_error(RequestValidationError(errors)).problem()))


BODIES = [
    b'{"events": []}',
    b'{"events": [1, "x", null, {"id": "a"}]}',
    b'  {"events": [{"id": "a", "properties": {"n": 1e400, "m": NaN}}]}  ',
    b'{"events": [1], "events": [2]}',
    b'{"events": {}}',
    b'{"events": 1}',
    b'{"events": [], "x": 1}',
    b'{"x": []}',
    b"[]",
    b"{",
    b"",
    b"null",
    b'{"events": ["\\ud800"]}',
    b'\xef\xbb\xbf{"events": []}',
    b'{"events": [{"a": 1, "a": 2}]}',
    b'{"events": [123456789012345678901234567890, -0.0, 1.5e308]}',
    b'{"events": [] } trailing',
    b'{"events": ["\\u0000"]}',
    '{"events": ["caf\u00e9"]}'.encode(),
    b'{"events": ["\xff"]}',
]


@pytest.mark.parametrize("body", BODIES)
def test_the_fast_body_parser_agrees_with_the_model(body: bytes) -> None:
    assert _outcome(body) == _model_outcome(body)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=8,
)


@given(json_values)
def test_the_fast_body_parser_agrees_on_any_json(value: Any) -> None:
    for body in (json.dumps(value).encode(), json.dumps({"events": value}).encode()):
        assert _outcome(body) == _model_outcome(body)


def test_a_window_a_day_before_the_period_start() -> None:
    customer = CustomerClock(ON_PERIOD, None, NOW, datetime(2031, 6, 10, tzinfo=UTC))
    assert intake.earliest_accepted(customer, WINDOWS) == datetime(2031, 6, 9, tzinfo=UTC)
    assert NOW - timedelta(days=35) == intake.earliest_accepted(CUSTOMERS[KNOWN], WINDOWS)
