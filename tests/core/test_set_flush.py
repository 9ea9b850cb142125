"""`core.set_flush`: a flush's plain inserts and updates go as one statement per table and
column set, and what reaches PostgreSQL, and what the session believes afterwards, is what the
unit of work would have made of the same flush. Where the two differ the unit of work is the
reference: several tests run the same flush with the set-based path switched off to show it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, inspect, select, text, update
from sqlalchemy.exc import (
    IntegrityError,
    OperationalError,
    PendingRollbackError,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from hisaab.core import set_flush
from hisaab.core.ids import new_id
from hisaab.customers.models import Customer
from hisaab.db import Database, bind_scope
from hisaab.invoicing.models import Invoice, InvoiceLine, PendingItem
from hisaab.mail.models import MailMessage
from hisaab.tenants.models import Tenant
from hisaab.webhooks.models import WebhookEndpoint
from tests.conftest import TenantHandle
from tests.core.test_bulk import AWKWARD, _mail

T0 = datetime(2026, 1, 1, tzinfo=UTC)
IST = timezone(timedelta(hours=5, minutes=30))
CUSTOMERS = Customer.__table__
# The unit of work's own statements name the table without an alias and bind row by row.
SET_UPDATE = re.compile(r"^UPDATE (\w+) AS t SET (.*) FROM unnest\(")
# Each flush whose unit-of-work run shows what the set-based run must do.
WRITERS = ["unit_of_work", "set_based"]
# A set-based insert, alone or one part of a statement (`WITH w0 AS (INSERT …), … INSERT …`):
# many rows from column arrays, one row as positional VALUES (the unit of work names its
# parameters).
SET_INSERT = re.compile(
    r"(?:^|AS \(|\) )INSERT INTO (\w+) \([^)]*\) (?:SELECT \* FROM unnest\(|VALUES \(%s)"
)


# --- rows -----------------------------------------------------------------------------------


def _customer(tenant_id: str, **overrides: Any) -> Customer:
    values: dict[str, Any] = {
        "tenant_id": tenant_id,
        "id": new_id("cus"),
        "name": "Customer",
        "email": "c@example.test",
        "phone": None,
        "external_id": None,
        "country": "IN",
        "state": "KA",
        "gstin": None,
        "vat_id": None,
        "sez": False,
        "currency": "INR",
        "locale": "en",
        "address": {"line1": "1 MG Road"},
        "test_clock_id": None,
        "metadata_": {},
        "default_payment_method_id": None,
        "created_at": T0,
        "updated_at": T0,
    }
    return Customer(**{**values, **overrides})


def _invoice(tenant_id: str, customer_id: str, **overrides: Any) -> Invoice:
    values: dict[str, Any] = {
        "tenant_id": tenant_id,
        "id": new_id("in"),
        "number": None,
        "series": None,
        "status": "draft",
        "customer_id": customer_id,
        "subscription_id": None,
        "test_clock_id": None,
        "billing_reason": "manual",
        "collection_method": "charge_automatically",
        "currency": "INR",
        "subtotal": 0,
        "discount": 0,
        "tax": 0,
        "total": 0,
        "credit_applied": 0,
        "amount_due": 0,
        "amount_paid": 0,
        "amount_remaining": 0,
        "period_start": None,
        "period_end": None,
        "issued_at": None,
        "due_at": None,
        "paid_at": None,
        "paid_out_of_band": False,
        "voided_at": None,
        "marked_uncollectible_at": None,
        "place_of_supply": None,
        "reverse_charge": False,
        "tax_lines": [],
        "notes": [],
        "customer_snapshot": {},
        "seller_snapshot": None,
        "inr_values": {"rate": "83.1"},
        "created_at": T0,
        "updated_at": T0,
    }
    return Invoice(**{**values, **overrides})


def _line(tenant_id: str, invoice_id: str, position: int) -> InvoiceLine:
    return InvoiceLine(
        tenant_id=tenant_id,
        id=new_id("il"),
        invoice_id=invoice_id,
        position=position,
        discount_amount=0,
        tax=18,
        tax_lines=[{"type": "igst", "amount": 18}],
        usage=None,
        kind="one_off",
        description=f"line {position}",
        quantity=1,
        unit_amount=100,
        amount=100,
        period_start=T0,
        period_end=T0 + timedelta(days=30),
        plan_id=None,
        plan_version=None,
        sac_code="998314",
        tax_behavior="exclusive",
    )


def _endpoint(tenant_id: str) -> WebhookEndpoint:
    return WebhookEndpoint(
        tenant_id=tenant_id,
        id=new_id("we"),
        url="https://example.test/hook",
        events=["*"],
        description=None,
        secret_sealed="sealed",
        disabled_at=None,
        disabled_reason=None,
        created_at=T0,
        updated_at=T0,
    )


def _customers(database: Database, tenant_id: str, count: int, **overrides: Any) -> list[str]:
    with database.transaction(tenant_id) as session:
        rows = [_customer(tenant_id, **overrides) for _ in range(count)]
        session.add_all(rows)
    return [row.id for row in rows]


def _invoices(database: Database, tenant_id: str, count: int, **overrides: Any) -> list[str]:
    with database.transaction(tenant_id) as session:
        customer = _customer(tenant_id)
        session.add(customer)
        session.flush()
        rows = [_invoice(tenant_id, customer.id, **overrides) for _ in range(count)]
        session.add_all(rows)
    return [row.id for row in rows]


def _load(session: Session, model: Any, tenant_id: str, ids: list[str]) -> list[Any]:
    """In the order asked for (a query's order would be the key order these tests look for)."""
    query = select(model).where(model.tenant_id == tenant_id, model.id.in_(ids))
    found = {o.id: o for o in session.scalars(query)}
    return [found[i] for i in ids]


def _raw(session: Session, table: str, ids: list[str]) -> dict[str, Any]:
    """Each row as PostgreSQL holds it (`to_jsonb` tells SQL NULL from JSON null), without its
    id, so two rows written two ways can be compared whole."""
    result = session.execute(
        text(f"SELECT id, to_jsonb(r) - 'id' - 'tenant_id' FROM {table} r WHERE id = ANY(:ids)"),
        {"ids": ids},
    )
    return {row[0]: row[1] for row in result}


# --- what was sent --------------------------------------------------------------------------


@contextmanager
def _statements(database: Database) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any, _m: Any) -> None:
        seen.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", capture)


def _writes(seen: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    verbs = ("INSERT", "UPDATE", "DELETE", "WITH")
    return [(s, p) for s, p in seen if s.split(None, 1)[0] in verbs]


def _set_updates(seen: list[tuple[str, Any]]) -> list[tuple[str, tuple[str, ...], Any]]:
    """(table, columns set, parameters) of each set-based UPDATE."""
    found = []
    for statement, parameters in _writes(seen):
        match = SET_UPDATE.match(statement)
        if match:
            columns = tuple(part.split(" = ")[0] for part in match.group(2).split(", "))
            found.append((match.group(1), columns, parameters))
    return found


def _set_inserts(seen: list[tuple[str, Any]]) -> list[str]:
    return [table for s, _ in _writes(seen) for table in SET_INSERT.findall(s)]


@contextmanager
def _unit_of_work_only() -> Iterator[None]:
    """The same flushes without the set-based path: what the unit of work alone makes of them."""
    event.remove(Session, "before_flush", set_flush._flush_set_based)
    try:
        yield
    finally:
        event.listen(Session, "before_flush", set_flush._flush_set_based)


@contextmanager
def _writer(name: str) -> Iterator[None]:
    if name == "unit_of_work":
        with _unit_of_work_only():
            yield
    else:
        yield


# --- 1, 2, 3, 4: updates --------------------------------------------------------------------


def test_objects_changed_alike_are_one_update_storing_each_value_exactly(
    database: Database, tenant: TenantHandle
) -> None:
    """Awkward values of every column type the billing tables use, different per row, in one
    statement; each row is then compared whole with a twin row the unit of work updated with
    the same values (JSON null vs SQL NULL, offsets, bigints and all)."""
    ids = _invoices(database, tenant.id, 6)
    mine, twins = ids[:3], ids[3:]

    def change(invoice: Invoice, n: int) -> None:
        invoice.total = 2**62 + n  # past int4 and float precision
        invoice.amount_due = -(2**63) + n  # int8's minimum
        invoice.paid_out_of_band = True
        invoice.paid_at = datetime(2026, 3, 31, 23, 59, 59, 123456 + n, tzinfo=IST)
        invoice.seller_snapshot = {**AWKWARD, "n": n, "big": 2**70, "float": 0.1}
        invoice.notes = ['quote " and {brace}', "", "null", ["nested", None]]
        invoice.inr_values = None  # was a dict: stored as JSON null, as the unit of work does
        invoice.place_of_supply = "29-Karnātaka ₹ ' \\"

    with database.transaction(tenant.id) as session:
        invoices = _load(session, Invoice, tenant.id, mine)
        for n, invoice in enumerate(invoices):
            change(invoice, n)
        with _statements(database) as seen:
            session.flush()
    with _unit_of_work_only(), database.transaction(tenant.id) as session:
        for n, invoice in enumerate(_load(session, Invoice, tenant.id, twins)):
            change(invoice, n)

    writes = _writes(seen)
    assert len(writes) == 1, writes
    ((table, columns, _),) = _set_updates(seen)
    assert table == "invoices"
    assert set(columns) == {
        "total",
        "amount_due",
        "paid_out_of_band",
        "paid_at",
        "seller_snapshot",
        "notes",
        "inr_values",
        "place_of_supply",
    }
    with database.transaction(tenant.id) as session:
        stored = _load(session, Invoice, tenant.id, mine)
        raw = _raw(session, "invoices", ids)
        nulls = session.execute(
            text(
                "SELECT id FROM invoices WHERE id = ANY(:ids) AND jsonb_typeof(inr_values) = 'null'"
            ),
            {"ids": mine},
        ).scalars()
        assert sorted(nulls) == sorted(mine)
    for n, invoice in enumerate(stored):
        assert invoice.total == 2**62 + n
        assert invoice.amount_due == -(2**63) + n
        assert invoice.paid_out_of_band is True
        assert invoice.paid_at == datetime(2026, 3, 31, 23, 59, 59, 123456 + n, tzinfo=IST)
        assert invoice.seller_snapshot == {**AWKWARD, "n": n, "big": 2**70, "float": 0.1}
        assert invoice.notes == ['quote " and {brace}', "", "null", ["nested", None]]
        assert invoice.inr_values is None
        assert invoice.place_of_supply == "29-Karnātaka ₹ ' \\"
        assert invoice.status == "draft", "a column not changed keeps its value"
    for own, twin in zip(mine, twins, strict=True):
        assert raw[own] == raw[twin]


def test_two_column_sets_are_two_updates_each_setting_only_its_columns(
    database: Database, tenant: TenantHandle
) -> None:
    """Another transaction changes columns this session did not: an UPDATE that wrote the whole
    row (or the other group's columns) from the session's stale copy would undo its change."""
    ids = _customers(database, tenant.id, 4)
    renamed, moved = ids[:2], ids[2:]
    with database.transaction(tenant.id) as session:
        customers = _load(session, Customer, tenant.id, ids)
        with database.transaction(tenant.id) as other:
            other.execute(
                update(CUSTOMERS).where(CUSTOMERS.c.id.in_(ids)).values(email="new@example.test")
            )
            other.execute(update(CUSTOMERS).where(CUSTOMERS.c.id.in_(moved)).values(name="Other"))
            other.execute(update(CUSTOMERS).where(CUSTOMERS.c.id.in_(renamed)).values(sez=True))
        for customer in customers[:2]:
            customer.name = "Renamed"
        for customer in customers[2:]:
            customer.sez = True
            customer.address = {"line1": "2 Brigade Road", "pin": "560001"}
        with _statements(database) as seen:
            session.flush()

    assert len(_writes(seen)) == 2
    assert sorted(columns for _, columns, _ in _set_updates(seen)) == [
        ("name",),
        ("sez", "address"),
    ]
    with database.transaction(tenant.id) as session:
        stored = {c.id: c for c in _load(session, Customer, tenant.id, ids)}
    for customer_id in renamed:
        row = stored[customer_id]
        assert (row.name, row.email, row.sez) == ("Renamed", "new@example.test", True)
        assert row.address == {"line1": "1 MG Road"}
    for customer_id in moved:
        row = stored[customer_id]
        assert (row.name, row.email, row.sez) == ("Other", "new@example.test", True)
        assert row.address == {"line1": "2 Brigade Road", "pin": "560001"}


def _locked(database: Database, tenant_id: str, customer_id: str) -> bool:
    with database.transaction(tenant_id) as session:
        try:
            session.execute(
                text("SELECT 1 FROM customers WHERE id = :id FOR UPDATE NOWAIT"),
                {"id": customer_id},
            )
        except OperationalError as exc:
            if "could not obtain lock" not in str(exc):
                raise
            return True
    return False


def test_assigning_current_values_writes_and_locks_nothing(
    database: Database, tenant: TenantHandle
) -> None:
    """The objects are dirty (an assignment marks them), but equal values are no change: no
    statement, no row lock, and nothing left dirty. Only the one real change is written."""
    ids = _customers(database, tenant.id, 3)
    with database.transaction(tenant.id) as session:
        same, also_same, changed = _load(session, Customer, tenant.id, ids)
        same.name = "Customer"
        same.sez = False
        same.address = {"line1": "1 MG Road"}  # an equal copy, not the same object
        same.updated_at = T0.astimezone(IST)  # the same instant
        also_same.phone = None
        with _statements(database) as seen:
            assert set(session.dirty) == {same, also_same}
            session.flush()
        assert _writes(seen) == []
        assert not session.dirty and not inspect(same).modified
        assert not _locked(database, tenant.id, same.id)

        changed.name = "Changed"
        same.name = "Customer"
        with _statements(database) as seen:
            session.flush()
        ((_, columns, parameters),) = _set_updates(seen)
        assert columns == ("name",) and parameters[1] == [changed.id]
        assert not session.dirty
        assert _locked(database, tenant.id, changed.id)
        assert not _locked(database, tenant.id, same.id)


def test_rows_are_updated_in_key_order(database: Database, tenant: TenantHandle) -> None:
    """Two transactions updating the same rows then lock them in the same order: no deadlock."""
    ids = _customers(database, tenant.id, 8)
    with database.transaction(tenant.id) as session:
        for n, customer in enumerate(reversed(_load(session, Customer, tenant.id, ids))):
            customer.name = f"n{n}"
        with _statements(database) as seen:
            session.flush()
    ((_, _, (tenant_ids, customer_ids, names)),) = _set_updates(seen)
    assert customer_ids == sorted(ids) and tenant_ids == [tenant.id] * 8
    by_id = dict(zip(customer_ids, names, strict=True))
    assert [by_id[i] for i in reversed(ids)] == [f"n{n}" for n in range(8)]


# --- 5, 9: every row found ------------------------------------------------------------------


def test_a_row_deleted_behind_the_sessions_back_is_stale_data(
    database: Database, tenant: TenantHandle
) -> None:
    ids = _customers(database, tenant.id, 3)
    with pytest.raises(StaleDataError), database.transaction(tenant.id) as session:
        customers = _load(session, Customer, tenant.id, ids)
        with database.transaction(tenant.id) as other:
            other.execute(CUSTOMERS.delete().where(CUSTOMERS.c.id == ids[1]))
        for customer in customers:
            customer.name = "Renamed"
        session.flush()
    with database.transaction(tenant.id) as session:
        names = [c.name for c in _load(session, Customer, tenant.id, [ids[0], ids[2]])]
    assert names == ["Customer", "Customer"]


@pytest.mark.parametrize("writer", WRITERS)
def test_a_failed_flush_leaves_nothing_to_commit(
    database: Database, tenant: TenantHandle, writer: str
) -> None:
    """A flush is all or nothing: after it fails the session must be rolled back, so a caller
    that catches the error and carries on cannot commit half of it."""
    ids = _customers(database, tenant.id, 3)
    session = database.begin(tenant.id)
    try:
        customers = _load(session, Customer, tenant.id, ids)
        with database.transaction(tenant.id) as other:
            other.execute(CUSTOMERS.delete().where(CUSTOMERS.c.id == ids[2]))
        for customer in customers:
            customer.name = "Renamed"
        with _writer(writer), pytest.raises(StaleDataError):
            session.flush()
        needed_rollback = not session.is_active
        session.expunge_all()
        with suppress(PendingRollbackError):
            session.commit()
    finally:
        session.close()
    with database.transaction(tenant.id) as session:
        names = [c.name for c in _load(session, Customer, tenant.id, ids[:2])]
    assert names == ["Customer", "Customer"]
    assert needed_rollback


def test_row_level_security_keeps_another_tenants_row_out_of_reach(
    database: Database, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    """A session that loaded another tenant's row and is then scoped to its own tenant cannot
    update it: the policy hides the row from the UPDATE, which finds fewer rows than it has,
    and the whole flush (its own tenant's row too) is undone."""
    (theirs,) = _customers(database, other_tenant.id, 1)
    (mine,) = _customers(database, tenant.id, 1)
    with (
        pytest.raises(StaleDataError, match="expected to match 2 rows; 1 were matched"),
        database.transaction(other_tenant.id) as session,
    ):
        their_customer = session.get_one(Customer, (other_tenant.id, theirs))
        bind_scope(session, tenant.id)
        my_customer = session.get_one(Customer, (tenant.id, mine))
        their_customer.name = "Hijacked"
        my_customer.name = "Hijacked"
        session.flush()
    with database.transaction(other_tenant.id) as session:
        assert session.get_one(Customer, (other_tenant.id, theirs)).name == "Customer"
    with database.transaction(tenant.id) as session:
        assert session.get_one(Customer, (tenant.id, mine)).name == "Customer"


# --- 6: rollback ----------------------------------------------------------------------------


def test_a_rollback_expires_what_a_set_based_flush_wrote(
    database: Database, tenant: TenantHandle
) -> None:
    ids = _customers(database, tenant.id, 2)
    session = database.begin(tenant.id)
    try:
        customers = _load(session, Customer, tenant.id, ids)
        for customer in customers:
            customer.name = "Renamed"
        new = _customer(tenant.id)
        session.add(new)
        with _statements(database) as seen:
            session.flush()
        assert _set_inserts(seen) == ["customers"] and len(_set_updates(seen)) == 1
        session.rollback()
        assert all("name" not in c.__dict__ for c in customers), "expired"
        assert inspect(new).transient
        bind_scope(session, tenant.id)  # the next transaction's scope
        assert [c.name for c in customers] == ["Customer", "Customer"]
        assert session.get(Customer, (tenant.id, new.id)) is None
    finally:
        session.close()


def test_a_savepoint_rollback_expires_only_what_was_written_inside_it(
    database: Database, tenant: TenantHandle
) -> None:
    ids = _customers(database, tenant.id, 2)
    with database.transaction(tenant.id) as session:
        before, inside = _load(session, Customer, tenant.id, ids)
        before.name = "Before"
        session.flush()
        savepoint = session.begin_nested()
        inside.name = "Inside"
        before.email = "inside@example.test"
        new = _customer(tenant.id)
        session.add(new)
        with _statements(database) as seen:
            session.flush()
        assert _set_inserts(seen) == ["customers"] and len(_set_updates(seen)) == 2
        savepoint.rollback()
        assert "name" not in inside.__dict__ and inspect(new).transient
        assert (inside.name, before.name, before.email) == ("Customer", "Before", "c@example.test")
    with database.transaction(tenant.id) as session:
        stored = _load(session, Customer, tenant.id, ids)
        assert [c.name for c in stored] == ["Before", "Customer"]
        assert session.get(Customer, (tenant.id, new.id)) is None


@pytest.mark.parametrize("writer", WRITERS)
def test_an_expired_object_can_be_changed_and_flushed(
    database: Database, tenant: TenantHandle, writer: str
) -> None:
    """After a rollback every object is expired; a retry that sets attributes without reading
    any first is an ordinary UPDATE for the unit of work (it loads the key)."""
    ids = _customers(database, tenant.id, 2)
    with database.transaction(tenant.id) as session:
        customers = _load(session, Customer, tenant.id, ids)
        session.expire_all()
        for customer in customers:
            customer.name = "Retried"
        with _writer(writer):
            session.flush()
    with database.transaction(tenant.id) as session:
        assert [c.name for c in _load(session, Customer, tenant.id, ids)] == ["Retried"] * 2


# --- 7: inserts -----------------------------------------------------------------------------


def test_new_rows_added_child_first_are_inserted_parent_first_all_in_one_statement(
    database: Database, tenant: TenantHandle
) -> None:
    """One INSERT a table, the tables in foreign-key order, all parts of one statement (a
    foreign key is checked at the statement's end)."""
    with database.transaction(tenant.id) as session:
        customers = [_customer(tenant.id) for _ in range(2)]
        invoices = [_invoice(tenant.id, c.id, total=100 * (n + 1)) for n, c in enumerate(customers)]
        lines = [_line(tenant.id, i.id, p) for i in invoices for p in range(3)]
        session.add_all([*lines, *reversed(invoices), *customers])
        with _statements(database) as seen:
            session.flush()
        assert len(_writes(seen)) == 1
        assert _set_inserts(seen) == ["customers", "invoices", "invoice_lines"]
        everything = [*customers, *invoices, *lines]
        assert all(inspect(o).persistent for o in everything)
        assert not session.new and not session.dirty
        assert all(session.get(type(o), (tenant.id, o.id)) is o for o in everything)

        invoices[0].status = "open"
        with _statements(database) as seen:
            session.flush()
        ((table, columns, parameters),) = _set_updates(seen)
        assert (table, columns, parameters[1]) == ("invoices", ("status",), [invoices[0].id])
    with database.transaction(tenant.id) as session:
        stored = _load(session, Invoice, tenant.id, [i.id for i in invoices])
        assert [(i.status, i.total) for i in stored] == [("open", 100), ("draft", 200)]
        stored_lines = _load(session, InvoiceLine, tenant.id, [line.id for line in lines])
        assert [(line.invoice_id, line.position) for line in stored_lines] == [
            (i.id, p) for i in invoices for p in range(3)
        ]
        assert stored_lines[0].tax_lines == [{"type": "igst", "amount": 18}]
        assert stored_lines[0].period_end == T0 + timedelta(days=30)


def test_new_objects_are_inserted_at_once_and_stay_in_the_session(
    database: Database, tenant: TenantHandle
) -> None:
    """One flush, one statement; the objects are then persistent, so a later change is an
    UPDATE; a column left unset is NULL, as the unit of work writes it."""
    messages = [MailMessage(**_mail(tenant.id)) for _ in range(3)]
    with database.transaction(tenant.id) as session:
        session.add_all(messages)
        session.flush()
        assert all(m in session and m not in session.new for m in messages)
        ids = [m.id for m in messages]
        count = select(func.count()).where(MailMessage.id.in_(ids))
        assert session.execute(count.execution_options(autoflush=False)).scalar() == 3
        messages[0].status = "sent"
    with database.transaction(tenant.id) as session:
        stored = {
            m.id: m for m in session.scalars(select(MailMessage).where(MailMessage.id.in_(ids)))
        }
    assert stored[ids[0]].status == "sent"
    assert stored[ids[1]].status == "queued"
    assert stored[ids[1]].to_address is None and stored[ids[1]].sent_at is None


@pytest.mark.filterwarnings("ignore:Column 'customers.id' is marked as a member")
def test_a_new_object_without_its_key_is_left_to_the_unit_of_work(
    database: Database, tenant: TenantHandle
) -> None:
    """Its error, naming the column, is the one the caller sees."""
    customer = _customer(tenant.id)
    del customer.id
    with (
        _statements(database) as seen,
        pytest.raises(IntegrityError, match='null value in column "id"'),
        database.transaction(tenant.id) as session,
    ):
        session.add_all([_customer(tenant.id), customer])
        session.flush()
    assert _writes(seen) and _set_inserts(seen) == []


# --- 8: what is left to the unit of work ----------------------------------------------------


def test_sql_expressions_are_written_by_the_unit_of_work_beside_set_based_updates(
    database: Database, tenant: TenantHandle
) -> None:
    ids = _invoices(database, tenant.id, 3, total=41)
    with database.transaction(tenant.id) as session:
        incremented, also, plain = _load(session, Invoice, tenant.id, ids)
        incremented.total = Invoice.total + 1
        also.total = Invoice.total + 1
        also.status = "open"
        plain.status = "open"
        with _statements(database) as seen:
            session.flush()
        ((_, columns, parameters),) = _set_updates(seen)
        assert columns == ("status",) and parameters[1] == [plain.id]
        by_unit_of_work = [s for s, _ in _writes(seen) if s.startswith("UPDATE invoices SET")]
        assert by_unit_of_work and all("invoices.total +" in s for s in by_unit_of_work)
        assert (incremented.total, also.total, also.status) == (42, 42, "open")
    with database.transaction(tenant.id) as session:
        stored = _load(session, Invoice, tenant.id, ids)
        assert [(i.total, i.status) for i in stored] == [(42, "draft"), (42, "open"), (41, "open")]


@pytest.mark.parametrize("writer", WRITERS)
def test_an_orm_attribute_as_value_is_sql_for_the_unit_of_work(
    database: Database, tenant: TenantHandle, writer: str
) -> None:
    ids = _invoices(database, tenant.id, 2, total=500)
    with database.transaction(tenant.id) as session:
        for invoice in _load(session, Invoice, tenant.id, ids):
            invoice.amount_due = Invoice.total
        with _writer(writer):
            session.flush()
    with database.transaction(tenant.id) as session:
        assert [i.amount_due for i in _load(session, Invoice, tenant.id, ids)] == [500, 500]


@pytest.mark.parametrize("model", [PendingItem, Tenant, WebhookEndpoint])
def test_what_is_not_served(model: Any) -> None:
    """The mappers the next test relies on the unit of work for (identity column, server
    default, array column), against the ones it relies on this for."""
    assert not set_flush._serves(inspect(model))
    assert all(set_flush._serves(inspect(m)) for m in (Customer, Invoice, InvoiceLine))


def test_a_new_object_not_served_leaves_every_insert_and_dependent_update_to_the_uow(
    database: Database, tenant: TenantHandle
) -> None:
    """The unit of work orders its inserts itself; an update pointing at one of its rows must
    come after it, so it is its to write (set-based first, it would break the foreign key)."""
    (invoice_id,) = _invoices(database, tenant.id, 1)
    with database.transaction(tenant.id) as session:
        invoice = session.get_one(Invoice, (tenant.id, invoice_id))
        endpoint = _endpoint(tenant.id)
        customer = _customer(tenant.id)
        session.add_all([endpoint, customer])
        invoice.customer_id = customer.id  # points at a row the unit of work has yet to insert
        with _statements(database) as seen:
            session.flush()
        assert _set_inserts(seen) == [] and _set_updates(seen) == []
        tables = [
            s.split()[2] if s.startswith("INSERT") else s.split()[1] for s, _ in _writes(seen)
        ]
        assert tables.index("customers") < tables.index("invoices")
        assert set(tables) == {"customers", "invoices", "webhook_endpoints"}
        assert inspect(endpoint).persistent and inspect(customer).persistent
    with database.transaction(tenant.id) as session:
        assert session.get_one(Invoice, (tenant.id, invoice_id)).customer_id == customer.id
        assert session.get_one(WebhookEndpoint, (tenant.id, endpoint.id)).events == ["*"]


def test_a_flush_with_a_delete_is_left_whole_to_the_unit_of_work(
    database: Database, tenant: TenantHandle
) -> None:
    ids = _customers(database, tenant.id, 3)
    with database.transaction(tenant.id) as session:
        gone, renamed, _ = _load(session, Customer, tenant.id, ids)
        session.delete(gone)
        renamed.name = "Renamed"
        new = _customer(tenant.id, name="New")
        session.add(new)
        with _statements(database) as seen:
            session.flush()
        assert _set_inserts(seen) == [] and _set_updates(seen) == []
        assert sorted(s.split()[0] for s, _ in _writes(seen)) == ["DELETE", "INSERT", "UPDATE"]
        assert inspect(new).persistent and inspect(gone).deleted and not session.dirty
    with database.transaction(tenant.id) as session:
        names = {c.id: c.name for c in _load(session, Customer, tenant.id, ids[1:])}
        assert names == {ids[1]: "Renamed", ids[2]: "Customer"}
        assert session.get(Customer, (tenant.id, ids[0])) is None
        assert session.get_one(Customer, (tenant.id, new.id)).name == "New"


def test_a_json_column_never_set_is_left_out_as_sql_null(
    database: Database, tenant: TenantHandle
) -> None:
    """The unit of work leaves an unset column out of its INSERT (SQL NULL); None given for a
    JSON column is JSON null. Writing None for the unset one set-based would store `null`, so
    the set-based insert leaves it out too."""
    unset = _customer(tenant.id)
    del unset.address
    given_none = _customer(tenant.id, address=None)
    with database.transaction(tenant.id) as session:
        session.add(unset)
        with _statements(database) as seen:
            session.flush()
        assert _set_inserts(seen) == ["customers"] and [s.split()[2] for s, _ in _writes(seen)] == [
            "customers"
        ]
        with _statements(database) as read:
            assert unset.address is None
        assert not read, "known without reading it back"
        session.add(given_none)
        with _statements(database) as seen:
            session.flush()
        assert _set_inserts(seen) == ["customers"]
    with _unit_of_work_only(), database.transaction(tenant.id) as session:
        uow_none = _customer(tenant.id, address=None)
        session.add(uow_none)
    with database.transaction(tenant.id) as session:
        kinds = dict(
            session.execute(
                text(
                    "SELECT id, coalesce(jsonb_typeof(address), 'SQL NULL') FROM customers"
                    " WHERE id = ANY(:ids)"
                ),
                {"ids": [unset.id, given_none.id, uow_none.id]},
            ).all()
        )
    assert kinds == {unset.id: "SQL NULL", given_none.id: "null", uow_none.id: "null"}


# --- 10: autoflush --------------------------------------------------------------------------


def test_a_query_autoflushes_set_based_writes_first(
    database: Database, tenant: TenantHandle
) -> None:
    """The query sees the session's changes because they were sent before it, set-based."""
    ids = _invoices(database, tenant.id, 3)
    with database.transaction(tenant.id) as session:
        for n, invoice in enumerate(_load(session, Invoice, tenant.id, ids)):
            invoice.total = 1000 + n
        with _statements(database) as seen:
            totals = session.execute(
                select(Invoice.id, Invoice.total).where(Invoice.id.in_(ids))
            ).all()
            assert dict(totals) == {i: 1000 + n for n, i in enumerate(ids)}
        assert [statement.split()[0] for statement, _ in seen] == ["UPDATE", "SELECT"]
        assert len(_set_updates(seen)) == 1


# --- contract edges found while testing -----------------------------------------------------


@pytest.mark.parametrize("writer", WRITERS)
def test_a_row_freeing_a_unique_value_for_a_new_row_is_updated_first(
    database: Database, tenant: TenantHandle, writer: str
) -> None:
    (invoice_id,) = _invoices(database, tenant.id, 1, series="S", number="1")
    with database.transaction(tenant.id) as session:
        old = session.get_one(Invoice, (tenant.id, invoice_id))
        old.number = "1-void"
        session.add(_invoice(tenant.id, old.customer_id, series="S", number="1"))
        with _writer(writer):
            session.flush()
    with database.transaction(tenant.id) as session:
        assert session.get_one(Invoice, (tenant.id, invoice_id)).number == "1-void"


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.filterwarnings("ignore:The `objects` parameter of `Session.flush` is deprecated")
def test_flushing_some_objects_leaves_the_others_pending(
    database: Database, tenant: TenantHandle, writer: str
) -> None:
    ids = _customers(database, tenant.id, 2)
    with database.transaction(tenant.id) as session:
        chosen, other = _load(session, Customer, tenant.id, ids)
        chosen.name = other.name = "Renamed"
        new = _customer(tenant.id)
        session.add(new)
        with _writer(writer):
            session.flush([chosen])
        assert other in session.dirty and new in session.new
        session.expunge(other)
        session.expunge(new)
    with database.transaction(tenant.id) as session:
        assert [c.name for c in _load(session, Customer, tenant.id, ids)] == ["Renamed", "Customer"]
        assert session.get(Customer, (tenant.id, new.id)) is None


@pytest.mark.parametrize("writer", WRITERS)
def test_aware_and_naive_datetimes_in_one_column(
    database: Database, tenant: TenantHandle, writer: str
) -> None:
    ids = _invoices(database, tenant.id, 2)
    with database.transaction(tenant.id) as session:
        session.execute(text("SET LOCAL TimeZone = 'UTC'"))
        aware, naive = _load(session, Invoice, tenant.id, ids)
        aware.paid_at = datetime(2026, 2, 1, tzinfo=IST)
        naive.paid_at = datetime(2026, 2, 1)
        with _writer(writer):
            session.flush()
    with database.transaction(tenant.id) as session:
        stored = [i.paid_at for i in _load(session, Invoice, tenant.id, ids)]
    assert stored == [datetime(2026, 2, 1, tzinfo=IST), datetime(2026, 2, 1, tzinfo=UTC)]


@pytest.mark.parametrize("writer", WRITERS)
def test_an_update_listener_added_later_is_called(
    database: Database, tenant: TenantHandle, writer: str
) -> None:
    assert set_flush._serves(inspect(Customer))  # served, and cached so, before the listener
    (customer_id,) = _customers(database, tenant.id, 1)
    calls: list[str] = []

    def listener(_mapper: Any, _connection: Any, target: Customer) -> None:
        calls.append(target.id)

    event.listen(Customer, "before_update", listener)
    try:
        with database.transaction(tenant.id) as session:
            session.get_one(Customer, (tenant.id, customer_id)).name = "Renamed"
            with _writer(writer):
                session.flush()
    finally:
        event.remove(Customer, "before_update", listener)
    assert calls == [customer_id]


def test_a_database_error_in_a_set_based_insert_reaches_the_caller(
    database: Database, tenant: TenantHandle
) -> None:
    with (
        _statements(database) as seen,
        pytest.raises(IntegrityError, match='null value in column "name"'),
        database.transaction(tenant.id) as session,
    ):
        session.add_all([_customer(tenant.id), _customer(tenant.id, name=None)])
        session.flush()
    assert _set_inserts(seen) == ["customers"]


# --- 11: property ---------------------------------------------------------------------------

ATTRIBUTES: dict[str, st.SearchStrategy[Any]] = {
    "status": st.sampled_from(["draft", "open", "paid", "void"]),
    "total": st.integers(min_value=-(2**63), max_value=2**63 - 1),
    "paid_out_of_band": st.booleans(),
    "paid_at": st.none()
    | st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from([UTC, IST, timezone(timedelta(hours=-7))]),
    ),
    "number": st.none() | st.text(st.characters(exclude_characters="\x00"), max_size=12),
    # Ints and text only: JSON's 1 == 1.0 == True is equality to both writers, not a change.
    "seller_snapshot": st.none()
    | st.dictionaries(
        st.text(st.characters(exclude_characters="\x00"), max_size=4),
        st.integers() | st.text(st.characters(exclude_characters="\x00"), max_size=6),
        max_size=3,
    ),
}
CHANGES = st.lists(st.tuples(st.integers(0, 3), st.sampled_from(sorted(ATTRIBUTES))), max_size=12)


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=CHANGES, data=st.data())
def test_any_sequence_of_changes_reaches_the_database_as_the_last_values(
    database: Database, tenant: TenantHandle, changes: list[tuple[int, str]], data: Any
) -> None:
    """Whatever columns change on whichever rows, in whatever order and however often: each row
    ends as the last values given, one UPDATE per distinct set of columns whose value differs,
    and exactly as a twin row given the same changes by the unit of work alone."""
    ids = _invoices(database, tenant.id, 8, number=None)
    mine, twins = ids[:4], ids[4:]
    values = [
        data.draw(ATTRIBUTES[attribute], label=f"{i}.{attribute}") for i, attribute in changes
    ]

    def change(invoices: list[Invoice]) -> None:
        for (index, attribute), value in zip(changes, values, strict=True):
            setattr(invoices[index], attribute, value)

    with database.transaction(tenant.id) as session:
        invoices = _load(session, Invoice, tenant.id, mine)
        initial = [{a: getattr(i, a) for a in ATTRIBUTES} for i in invoices]
        change(invoices)
        expected = [dict(row) for row in initial]
        for (index, attribute), value in zip(changes, values, strict=True):
            expected[index][attribute] = value
        with _statements(database) as seen:
            session.flush()
        assert not session.dirty
    with _unit_of_work_only(), database.transaction(tenant.id) as session:
        change(_load(session, Invoice, tenant.id, twins))
    column_sets = {
        tuple(a for a in ATTRIBUTES if expected[n][a] != initial[n][a]) for n in range(4)
    } - {()}
    updates = _set_updates(seen)
    assert len(_writes(seen)) == len(updates) == len(column_sets)
    assert {frozenset(columns) for _, columns, _ in updates} == {frozenset(c) for c in column_sets}
    with database.transaction(tenant.id) as session:
        stored = _load(session, Invoice, tenant.id, mine)
        assert [{a: getattr(i, a) for a in ATTRIBUTES} for i in stored] == expected
        raw = _raw(session, "invoices", ids)
    assert [raw[i] for i in mine] == [raw[i] for i in twins]
