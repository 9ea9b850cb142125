"""`core.bulk`: rows collected in a batch reach PostgreSQL exactly as a plain INSERT would write
them, under the same row-level security, and nothing at all when the batch fails."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Column, MetaData, Table, Text, func, inspect, select, text
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from hisaab.clocks.models import TestClock
from hisaab.core import bulk
from hisaab.core.ids import new_id
from hisaab.customers.models import Customer
from hisaab.db import Database
from hisaab.mail.models import MailMessage
from hisaab.webhooks.models import Event, WebhookEndpoint
from tests.conftest import TenantHandle

EVENTS = Event.__table__
CUSTOMERS = Customer.__table__
CLOCKS = TestClock.__table__
MAIL = MailMessage.__table__
AWKWARD = {
    "text": 'quote " backslash \\ comma , braces {} tab \t newline \n NUL-free ünïcødé ₹',
    "nested": {"list": [1, 2.5, None, True, "x"], "empty": {}},
    "null": None,
}


def _event(tenant_id: str, data: Any, at: datetime) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "id": new_id("evt"),
        "type": "customer.created",
        "object_id": "cus_x",
        "data": data,
        "created_at": at,
    }


def _mail(tenant_id: str, **overrides: Any) -> dict[str, Any]:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return {
        "tenant_id": tenant_id,
        "id": new_id("msg"),
        "kind": "invoice",
        "event_id": new_id("evt"),
        "locale": "en",
        "from_name": "Acme",
        "subject": "Your invoice",
        "text_body": "text",
        "html_body": "<p>html</p>",
        "attachments": [],
        "status": "queued",
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
        **overrides,
    }


def test_rows_wait_for_the_end_of_the_batch_and_arrive_unchanged(
    database: Database, tenant: TenantHandle
) -> None:
    at = datetime(2026, 3, 31, 23, 59, 59, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    rows = [_event(tenant.id, {"object": {**AWKWARD, "n": n}}, at) for n in range(3)]
    with database.transaction(tenant.id) as session:
        with bulk.batch(session):
            for row in rows:
                assert bulk.insert_row(session, EVENTS, row)  # type: ignore[arg-type]
            ids = [row["id"] for row in rows]
            assert session.scalar(select(func.count()).where(Event.id.in_(ids))) == 0
        stored = {e.id: e for e in session.scalars(select(Event).where(Event.id.in_(ids)))}
    assert list(stored) == ids or sorted(stored) == sorted(ids)
    for row in rows:
        event = stored[row["id"]]
        assert event.data == row["data"]
        assert event.created_at == at
        assert (event.type, event.object_id, event.tenant_id) == (
            "customer.created",
            "cus_x",
            tenant.id,
        )


def test_rows_leaving_columns_out_get_null_or_the_server_default(
    database: Database, tenant: TenantHandle
) -> None:
    """Rows of one table with different columns (an optional one sent or not) are all written."""
    with_address = _mail(tenant.id, to_address="a@example.test", to_name="A")
    without = _mail(tenant.id)
    with database.transaction(tenant.id) as session:
        with bulk.batch(session):
            bulk.insert_rows(session, MAIL, [with_address, without, _mail(tenant.id)])  # type: ignore[arg-type]
        stored = {
            m.id: m
            for m in session.scalars(
                select(MailMessage).where(MailMessage.id.in_([with_address["id"], without["id"]]))
            )
        }
    assert (stored[with_address["id"]].to_address, stored[with_address["id"]].to_name) == (
        "a@example.test",
        "A",
    )
    assert (stored[without["id"]].to_address, stored[without["id"]].sent_at) == (None, None)


@pytest.mark.parametrize("in_batch", [True, False])
def test_one_row_arrives_as_a_plain_insert_would_write_it(
    database: Database, tenant: TenantHandle, in_batch: bool
) -> None:
    """`insert_row` in a batch and outside one (a fixed VALUES statement, built once per table
    and column set): JSON whole, a column left out NULL, the same columns twice in a row."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [_event(tenant.id, {"object": {**AWKWARD, "n": n}}, at) for n in range(2)]
    mail = _mail(tenant.id)
    with database.transaction(tenant.id) as session:
        if in_batch:
            with bulk.batch(session):
                for row in rows:
                    bulk.insert_row(session, EVENTS, row)  # type: ignore[arg-type]
                bulk.insert_row(session, MAIL, mail)  # type: ignore[arg-type]
        else:
            for row in rows:
                bulk.insert_row(session, EVENTS, row)  # type: ignore[arg-type]
            bulk.insert_row(session, MAIL, mail)  # type: ignore[arg-type]
        stored = session.scalars(select(Event).where(Event.tenant_id == tenant.id)).all()
        message = session.get(MailMessage, (tenant.id, mail["id"]))
    assert sorted(e.data["object"]["n"] for e in stored) == [0, 1]
    assert all({k: v for k, v in e.data["object"].items() if k != "n"} == AWKWARD for e in stored)
    assert message is not None
    assert (message.to_address, message.sent_at, message.subject) == (None, None, "Your invoice")


def test_row_level_security_holds_for_bulk_rows(
    database: Database, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    """A batch in one tenant's scope cannot write a row of another tenant's: the whole batch
    fails and none of its rows is written."""
    mine = _event(tenant.id, {"object": {}}, datetime.now(UTC))
    theirs = _event(other_tenant.id, {"object": {}}, datetime.now(UTC))
    with (
        pytest.raises(DBAPIError, match="row-level security"),
        database.transaction(tenant.id) as session,
        bulk.batch(session),
    ):
        bulk.insert_row(session, EVENTS, mine)  # type: ignore[arg-type]
        bulk.insert_row(session, EVENTS, theirs)  # type: ignore[arg-type]
    with database.transaction(None) as session:
        found = session.scalar(select(func.count()).where(Event.id.in_([mine["id"], theirs["id"]])))
    assert found == 0


def test_a_failed_batch_writes_nothing(database: Database, tenant: TenantHandle) -> None:
    row = _event(tenant.id, {"object": {}}, datetime.now(UTC))
    with (
        pytest.raises(RuntimeError, match="boom"),
        database.transaction(tenant.id) as session,
        bulk.batch(session),
    ):
        bulk.insert_row(session, EVENTS, row)  # type: ignore[arg-type]
        raise RuntimeError("boom")
    with database.transaction(tenant.id) as session:
        assert session.get(Event, (tenant.id, row["id"])) is None


def test_outside_a_batch_rows_are_written_at_once(database: Database, tenant: TenantHandle) -> None:
    row = _mail(tenant.id)
    with database.transaction(tenant.id) as session:
        assert bulk.insert_row(session, MAIL, row, once_on=("tenant_id", "event_id", "kind"))  # type: ignore[arg-type]
        assert session.get(MailMessage, (tenant.id, row["id"])) is not None
        again = {**row, "id": new_id("msg")}
        assert not bulk.insert_row(session, MAIL, again, once_on=("tenant_id", "event_id", "kind"))  # type: ignore[arg-type]


def test_many_rows_outside_a_batch_go_as_one_statement(
    database: Database, tenant: TenantHandle
) -> None:
    """A request posting an invoice writes its journal lines together, not one per row."""
    rows = [_event(tenant.id, {"object": {"n": n}}, datetime.now(UTC)) for n in range(3)]
    sent: list[tuple[str, bool]] = []
    listener = lambda *args: sent.append((args[2], args[5]))  # noqa: E731
    sqlalchemy_event.listen(database.engine, "before_cursor_execute", listener)
    try:
        with database.transaction(tenant.id) as session:
            bulk.insert_rows(session, EVENTS, rows)  # type: ignore[arg-type]
    finally:
        sqlalchemy_event.remove(database.engine, "before_cursor_execute", listener)
    assert [many for sql, many in sent if "INSERT" in sql] == [False]
    with database.transaction(tenant.id) as session:
        ids = set(session.scalars(select(Event.id).where(Event.id.in_([r["id"] for r in rows]))))
    assert ids == {row["id"] for row in rows}


def test_a_duplicate_of_a_once_row_is_skipped_at_the_end_of_a_batch(
    database: Database, tenant: TenantHandle
) -> None:
    first = _mail(tenant.id)
    with database.transaction(tenant.id) as session:
        bulk.insert_row(session, MAIL, first, once_on=("tenant_id", "event_id", "kind"))  # type: ignore[arg-type]
    duplicate = {**first, "id": new_id("msg")}
    with database.transaction(tenant.id) as session:
        with bulk.batch(session):
            bulk.insert_row(session, MAIL, duplicate, once_on=("tenant_id", "event_id", "kind"))  # type: ignore[arg-type]
        assert session.get(MailMessage, (tenant.id, duplicate["id"])) is None


def test_once_rows_of_a_batch_go_as_one_statement_and_a_repeated_key_keeps_the_first(
    database: Database, tenant: TenantHandle
) -> None:
    """A billing batch records hundreds of emails: one statement, not one per row; a key that
    repeats (in the batch, or one already stored) is skipped as outside a batch."""
    once = ("tenant_id", "event_id", "kind")
    stored = _mail(tenant.id)
    with database.transaction(tenant.id) as session:
        bulk.insert_row(session, MAIL, stored, once_on=once)  # type: ignore[arg-type]
    new = [_mail(tenant.id) for _ in range(3)]
    repeats = [
        {**new[0], "id": new_id("msg"), "subject": "second"},
        {**stored, "id": new_id("msg")},
    ]
    sent: list[tuple[str, bool]] = []
    listener = lambda *args: sent.append((args[2], args[5]))  # noqa: E731
    sqlalchemy_event.listen(database.engine, "before_cursor_execute", listener)
    try:
        with database.transaction(tenant.id) as session, bulk.batch(session):
            for row in [*new, *repeats]:
                assert bulk.insert_row(session, MAIL, row, once_on=once)  # type: ignore[arg-type]
    finally:
        sqlalchemy_event.remove(database.engine, "before_cursor_execute", listener)
    # Not an executemany, which psycopg sends as one statement per row.
    assert [many for sql, many in sent if "INSERT" in sql] == [False]
    with database.transaction(tenant.id) as session:
        ids = set(session.scalars(select(MailMessage.id)))
        assert ids == {stored["id"], *(row["id"] for row in new)}
        assert session.get(MailMessage, (tenant.id, new[0]["id"])).subject == "Your invoice"  # type: ignore[union-attr]


def test_once_rows_giving_different_columns_still_skip_a_repeated_key(
    database: Database, tenant: TenantHandle
) -> None:
    """Rows that leave different columns out make separate INSERTs, which would not see each
    other's rows inside one statement."""
    once = ("tenant_id", "event_id", "kind")
    first = _mail(tenant.id)
    repeat = {**first, "id": new_id("msg"), "to_address": "someone@example.test"}
    with database.transaction(tenant.id) as session, bulk.batch(session):
        bulk.insert_row(session, MAIL, first, once_on=once)  # type: ignore[arg-type]
        bulk.insert_row(session, MAIL, repeat, once_on=once)  # type: ignore[arg-type]
    with database.transaction(tenant.id) as session:
        assert set(session.scalars(select(MailMessage.id))) == {first["id"]}


def test_a_table_with_an_array_column_is_written_whole(
    database: Database, tenant: TenantHandle
) -> None:
    """unnest would flatten an array column, so such a table takes the plain INSERT."""
    now = datetime.now(UTC)
    endpoint = {
        "tenant_id": tenant.id,
        "id": new_id("we"),
        "url": "https://example.test/hook",
        "events": ["invoice.paid", "invoice.created"],
        "secret_sealed": "sealed",
        "created_at": now,
        "updated_at": now,
    }
    with database.transaction(tenant.id) as session:
        with bulk.batch(session):
            bulk.insert_rows(session, WebhookEndpoint.__table__, [endpoint])  # type: ignore[arg-type]
        stored = session.get(WebhookEndpoint, (tenant.id, endpoint["id"]))
        assert stored is not None and stored.events == ["invoice.paid", "invoice.created"]


def test_json_already_serialized_is_stored_as_the_json_it_holds(
    database: Database, tenant: TenantHandle
) -> None:
    """`JsonText` (pydantic's own serialization) is written as is; mixed with plain values in
    one column, both kinds arrive as the same JSON."""
    at = datetime.now(UTC)
    text_rows = [
        _event(tenant.id, bulk.JsonText(json.dumps({"object": {**AWKWARD, "n": n}})), at)
        for n in range(2)
    ]
    mixed = [
        _event(tenant.id, bulk.JsonText(json.dumps({"object": AWKWARD})), at),
        _event(tenant.id, {"object": AWKWARD}, at),
    ]
    # A single row goes as VALUES rather than column arrays.
    alone = _event(tenant.id, bulk.JsonText(json.dumps({"object": {**AWKWARD, "n": 2}})), at)
    with database.transaction(tenant.id) as session:
        with bulk.batch(session):
            bulk.insert_rows(session, EVENTS, text_rows)  # type: ignore[arg-type]
        with bulk.batch(session):
            bulk.insert_rows(session, EVENTS, mixed)  # type: ignore[arg-type]
        with bulk.batch(session):
            bulk.insert_row(session, EVENTS, alone)  # type: ignore[arg-type]
        ids = [row["id"] for row in [*text_rows, *mixed, alone]]
        stored = {e.id: e.data for e in session.scalars(select(Event).where(Event.id.in_(ids)))}
    assert stored[alone["id"]] == {"object": {**AWKWARD, "n": 2}}
    assert stored[text_rows[0]["id"]] == {"object": {**AWKWARD, "n": 0}}
    assert stored[text_rows[1]["id"]] == {"object": {**AWKWARD, "n": 1}}
    assert stored[mixed[0]["id"]] == stored[mixed[1]["id"]] == {"object": AWKWARD}


def test_memo_answers_once_inside_a_memoizing_block_or_a_batch(
    database: Database, tenant: TenantHandle
) -> None:
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    with database.transaction(tenant.id) as session:
        assert bulk.memo(session, "k", compute) == 1
        assert bulk.memo(session, "k", compute) == 2, "outside any block: every time"
        with bulk.memoizing(session):
            assert bulk.memo(session, "k", compute) == 3
            assert bulk.memo(session, "k", compute) == 3
            with bulk.batch(session):  # a batch inside the block shares its memo
                assert bulk.memo(session, "k", compute) == 3
            bulk.forget(session, "k")
            assert bulk.memo(session, "k", compute) == 4
        assert bulk.memo(session, "k", compute) == 5, "the block's answers end with it"
        assert not bulk.collecting(session)


def test_recall_finds_what_the_block_holds_without_computing(
    database: Database, tenant: TenantHandle
) -> None:
    with database.transaction(tenant.id) as session:
        bulk.remember(session, "k", 1)  # outside any block: kept nowhere
        assert bulk.recall(session, "k") is None
        with bulk.memoizing(session):
            assert bulk.recall(session, "k") is None
            bulk.remember(session, "k", 2)
            assert bulk.memo(session, "j", lambda: 3) == 3
            assert (bulk.recall(session, "k"), bulk.recall(session, "j")) == (2, 3)
        assert bulk.recall(session, "k") is None


def test_collected_items_are_written_once_after_the_rows(
    database: Database, tenant: TenantHandle
) -> None:
    written: list[tuple[list[int], int]] = []
    row = _event(tenant.id, {"object": {}}, datetime.now(UTC))

    def write(session: Any, items: list[int]) -> None:
        stored = session.scalar(select(func.count()).where(Event.id == row["id"]))
        written.append((list(items), stored))

    with database.transaction(tenant.id) as session:
        with pytest.raises(RuntimeError, match="needs a bulk batch"):
            bulk.collect(session, "k", write)
        with bulk.batch(session):
            bulk.insert_row(session, EVENTS, row)  # type: ignore[arg-type]
            bulk.collect(session, "k", write).append(1)
            bulk.collect(session, "k", write).append(2)
            assert written == []
        with bulk.batch(session):  # a new batch, a new list
            bulk.collect(session, "k", write).append(3)
    assert written == [([1, 2], 1), ([3], 1)]


def test_construct_makes_what_the_constructor_makes_and_tracks_later_changes(
    database: Database, tenant: TenantHandle
) -> None:
    values = _mail(tenant.id)
    made = bulk.construct(MailMessage, **values)
    reference = MailMessage(**{**values, "id": new_id("msg")})
    assert inspect(made).transient
    assert {k: getattr(made, k) for k in values} == values
    assert {k: getattr(reference, k) for k in values if k != "id"} == {
        k: v for k, v in values.items() if k != "id"
    }
    with database.transaction(tenant.id) as session:
        session.add(made)
        session.flush()
        made.status = "sent"  # tracked: written by the next flush
        session.flush()
    with database.transaction(tenant.id) as session:
        stored = session.get(MailMessage, (tenant.id, values["id"]))
        assert stored is not None
        assert (stored.subject, stored.status) == (values["subject"], "sent")


@pytest.mark.parametrize("name", ["subjcet", "metadata", "_sa_instance_state"])
def test_construct_refuses_what_is_no_column_attribute(tenant: TenantHandle, name: str) -> None:
    with pytest.raises(TypeError, match="no column attribute"):
        bulk.construct(MailMessage, **_mail(tenant.id), **{name: "x"})


def _clock_and_its_customer(tenant_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    clock = {
        "tenant_id": tenant_id,
        "id": new_id("clock"),
        "name": None,
        "status": "ready",
        "frozen_time": at,
        "reached_time": at,
        "created_at": at,
    }
    customer = {
        **{c.name: None for c in Customer.__table__.columns},
        "tenant_id": tenant_id,
        "id": new_id("cus"),
        "name": "On a clock",
        "email": "clock@example.test",
        "country": "IN",
        "currency": "INR",
        "locale": "en",
        "sez": False,
        "metadata": {},
        "test_clock_id": clock["id"],
        "created_at": at,
        "updated_at": at,
    }
    return clock, customer


def test_the_plain_rows_of_several_tables_go_as_one_statement(
    database: Database, tenant: TenantHandle
) -> None:
    """One round trip for a request's rows; a row may point at one written beside it (its
    foreign key is checked when the statement ends)."""
    clock, customer = _clock_and_its_customer(tenant.id)
    event = _event(tenant.id, {"object": AWKWARD}, clock["created_at"])
    sent: list[str] = []
    listener = lambda *args: sent.append(args[2])  # noqa: E731
    sqlalchemy_event.listen(database.engine, "before_cursor_execute", listener)
    try:
        with database.transaction(tenant.id) as session, bulk.batch(session):
            # The child first: the order of the tables is the order of first writes.
            bulk.insert_row(session, CUSTOMERS, customer)
            bulk.insert_row(session, CLOCKS, clock)
            bulk.insert_row(session, EVENTS, event)
    finally:
        sqlalchemy_event.remove(database.engine, "before_cursor_execute", listener)
    inserts = [s for s in sent if "INSERT" in s]
    assert len(inserts) == 1 and inserts[0].startswith("WITH w0 AS (INSERT INTO customers")
    with database.transaction(tenant.id) as session:
        stored = session.get(Customer, (tenant.id, customer["id"]))
        assert stored is not None and stored.test_clock_id == clock["id"]
        assert session.get(Event, (tenant.id, event["id"])).data == event["data"]  # type: ignore[union-attr]


def test_a_row_pointing_nowhere_fails_the_whole_statement(
    database: Database, tenant: TenantHandle
) -> None:
    _, customer = _clock_and_its_customer(tenant.id)  # its clock is never written
    event = _event(tenant.id, {"object": {}}, datetime(2026, 1, 1, tzinfo=UTC))
    failing = pytest.raises(DBAPIError, match="fk_customers")
    with failing, database.transaction(tenant.id) as session, bulk.batch(session):
        bulk.insert_row(session, EVENTS, event)
        bulk.insert_row(session, CUSTOMERS, customer)
    with database.transaction(tenant.id) as session:
        assert session.get(Event, (tenant.id, event["id"])) is None


# A table of the test's own: no model has a nullable column with a server default.
PROBE = Table(
    "bulk_probe",
    MetaData(),
    Column("id", Text, primary_key=True),
    Column("defaulted", Text, nullable=True, server_default="from the server"),
    Column("plain", Text, nullable=True),
)


@pytest.mark.parametrize("count", [1, 3])
def test_a_column_of_nulls_is_left_out_only_where_leaving_it_out_gives_null(
    database: Database, tenant: TenantHandle, count: int
) -> None:
    """Explicit None is NULL, never the server's default; a column NULL in every row and
    without a default need not be sent at all."""
    sent: list[str] = []
    listener = lambda *args: sent.append(args[2])  # noqa: E731
    sqlalchemy_event.listen(database.engine, "before_cursor_execute", listener)
    try:
        with database.transaction(tenant.id) as session:
            session.execute(
                text(
                    "CREATE TEMPORARY TABLE bulk_probe (id text PRIMARY KEY, "
                    "defaulted text DEFAULT 'from the server', plain text) ON COMMIT DROP"
                )
            )
            rows = [{"id": f"p{i}", "defaulted": None, "plain": None} for i in range(count)]
            bulk.insert_now(session, [(PROBE, rows)])
            stored = session.execute(text("SELECT defaulted, plain FROM bulk_probe")).all()
    finally:
        sqlalchemy_event.remove(database.engine, "before_cursor_execute", listener)
    assert stored == [(None, None)] * count
    (insert,) = [s for s in sent if s.startswith("INSERT")]
    assert "defaulted" in insert
    assert "plain" not in insert


def _awaiting(session: Session, tenant_id: str, settle: Callable[[str], dict[str, str]]) -> str:
    """A new message in the session whose subject is a stand-in until the batch's next flush
    gives it the value `settle` answers for the message's id; that id."""
    message = bulk.construct(MailMessage, **_mail(tenant_id))
    message.subject = bulk.stand_in(message.id)
    session.add(message)

    def settled(_: Session) -> dict[str, str]:
        values = settle(message.id)
        message.subject = values.get(message.id, message.subject)
        return values

    bulk.settle_at_flush(session, settled)
    return message.id


def test_stand_ins_get_their_value_in_the_object_and_in_the_rows_collected_meanwhile(
    database: Database, tenant: TenantHandle
) -> None:
    """A value learnt at the flush that writes its object (an invoice's number) reaches the
    object and the rows collected before it was known, plain or serialized JSON; text that only
    looks like a stand-in is left as it is."""
    at = datetime.now(UTC)
    with database.transaction(tenant.id) as session, bulk.batch(session):
        message_id = _awaiting(session, tenant.id, lambda key: {key: "INV/2526/7"})
        standing = bulk.stand_in(message_id)
        event = _event(
            tenant.id,
            bulk.JsonText(json.dumps({"object": {"number": standing, "note": "{{hisaab:x_1}}"}})),
            at,
        )
        bulk.insert_row(session, EVENTS, event)  # type: ignore[arg-type]
        letter = _mail(tenant.id, text_body=f"Invoice {standing} is due.", subject=standing)
        bulk.insert_row(session, MAIL, letter)  # type: ignore[arg-type]
    with database.transaction(tenant.id) as session:
        stored_event = session.get(Event, (tenant.id, event["id"]))
        stored_letter = session.get(MailMessage, (tenant.id, letter["id"]))
        stored_message = session.get(MailMessage, (tenant.id, message_id))
        assert stored_event is not None and stored_letter is not None
        assert stored_message is not None
        assert stored_event.data == {"object": {"number": "INV/2526/7", "note": "{{hisaab:x_1}}"}}
        assert (stored_letter.subject, stored_letter.text_body) == (
            "INV/2526/7",
            "Invoice INV/2526/7 is due.",
        )
        assert stored_message.subject == "INV/2526/7"


def test_a_stand_in_is_settled_once_at_the_batchs_first_flush_and_never_in_a_failed_batch(
    database: Database, tenant: TenantHandle
) -> None:
    settled: list[str] = []
    with database.transaction(tenant.id) as session, bulk.batch(session):
        _awaiting(session, tenant.id, lambda key: settled.append("now") or {key: "A-1"})
        assert settled == []
        session.flush()
        session.flush()
        assert settled == ["now"]
    with (
        pytest.raises(RuntimeError, match="rolled back"),
        database.transaction(tenant.id) as session,
        bulk.batch(session),
    ):
        _awaiting(session, tenant.id, lambda _: settled.append("again") or {})
        raise RuntimeError("rolled back")
    assert settled == ["now"]


@pytest.mark.parametrize("value", ["A&B/1", "A<1>", 'say "1"', "A 1", ""])
def test_a_value_that_would_need_escaping_cannot_take_a_stand_ins_place(
    database: Database, tenant: TenantHandle, value: str
) -> None:
    with (
        pytest.raises(ValueError, match="unescaped"),
        database.transaction(tenant.id) as session,
        bulk.batch(session),
    ):
        message_id = _awaiting(session, tenant.id, lambda key: {key: value})
    with database.transaction(tenant.id) as session:
        assert session.get(MailMessage, (tenant.id, message_id)) is None
