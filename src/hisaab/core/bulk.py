"""Rows a batch writes, sent as a few bulk statements when the batch ends.

The billing run handles hundreds of subscriptions in one transaction (issue 6). Written one by
one, every invoice would cost a dozen round trips for its events, emails, webhook deliveries,
jobs and journal lines. Inside `batch(session)` the write primitives of those append-only tables
(`insert_row`, `insert_rows`, and `jobs.queue.enqueue` through `collect`) collect their rows
instead, and the batch's end sends each table's rows as one INSERT, in the order the
tables were first written to, so a row always follows the rows its foreign keys point at.
Outside a batch they write at once, as before.

Only tables nothing reads back within the batch take part: the rows are invisible to queries
until the end. `insert_row(..., once_on=…)` keeps the "skip a duplicate" meaning of an
ON CONFLICT DO NOTHING insert; it answers True inside a batch, where every row is new (a batch
emits new events; replays of old ones run one by one, outside it).

A value that must be taken as late as the transaction allows, because taking it locks a row
until the commit (an invoice's number: every other issuer of the tenant waits for that lock),
can go about as a `stand_in` until `settle_at_flush` learns it, just before the first flush that
writes what holds it; the rows `insert_row` collected meanwhile get the value in the stand-in's
place (an event showing the invoice, a letter naming it).

Two more tools serve the same end: `construct` makes new ORM objects cheaply (a flush then
inserts each table's in one statement: `core.set_flush`), and `memo` answers repeated reads once
per batch, or per `memoizing` block where a use case wants that without collecting rows.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from sqlalchemy import ARRAY, Table, event, insert
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.instrumentation import manager_of_class

_KEY = "hisaab.bulk"
_MEMO_KEY = "hisaab.bulk.memo"
_LEFT = "hisaab.bulk.left"
_TOOK_LEFT = "hisaab.bulk.took_left"
T = TypeVar("T")
# What goes into one statement: large enough to amortise the round trip, small enough to keep
# one statement's parameters far below PostgreSQL's 65,535 bind limit per insertmanyvalues page.
CHUNK = 1_000


@dataclass
class _Batch:
    tables: dict[tuple[Table, tuple[str, ...] | None], list[Mapping[str, Any]]] = field(
        default_factory=dict
    )
    after: list[Callable[[Session], None]] = field(default_factory=list)
    collected: dict[str, list[Any]] = field(default_factory=dict)
    # While the batch's closing flush runs: new objects' rows that may go with the batch's rows.
    closing: list[tuple[Table, Sequence[Mapping[str, Any]]]] | None = None
    # What learns the stand-ins' values at the next flush, and the rows holding stand-ins.
    unsettled: list[Callable[[Session], Mapping[str, str]]] = field(default_factory=list)
    holding: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Memo:
    values: dict[Any, Any] = field(default_factory=dict)
    kept: list[object] = field(default_factory=list)


class JsonText(str):
    """A JSON column's value already serialized (pydantic's `model_dump_json`, which is much
    faster than the standard library): a batch writes it as it is."""


def _current(session: Session) -> _Batch | None:
    batch: _Batch | None = session.info.get(_KEY)
    return batch


def _memo(session: Session) -> _Memo | None:
    found: _Memo | None = session.info.get(_MEMO_KEY)
    return found


def collecting(session: Session) -> bool:
    return _current(session) is not None


@contextmanager
def batch(session: Session, *, last: bool = False) -> Iterator[None]:
    """Collect the batch's rows and write them when the block ends without an error (on an
    error nothing is written: the caller's transaction rolls back anyway).

    A `last` batch is its transaction's last write (a use case that ends its request): it also
    takes the rows the transaction left to be written before it commits (`leave`), so a request
    that writes a customer sends its audit entry in the same statement. Inside a savepoint it
    takes none (the savepoint could roll back while the transaction goes on)."""
    if collecting(session):
        raise RuntimeError("bulk batches do not nest")
    session.info[_KEY] = current = _Batch()
    try:
        with memoizing(session):
            yield
            if last and not session.in_nested_transaction() and (left := take_left(session)):
                for table, row in left:
                    current.tables.setdefault((table, None), []).append(row)
                session.info[_TOOK_LEFT] = True
            flush(session)
    finally:
        session.info.pop(_KEY, None)


def leave(session: Session, table: Table, row: Mapping[str, Any]) -> None:
    """A row the transaction must write before it commits, and that nothing reads back in it (a
    request's audit entry): a `last` batch takes it along in its statement; whoever commits
    writes what none took (`write_left`)."""
    session.info.setdefault(_LEFT, []).append((table, row))


def take_left(session: Session) -> list[tuple[Table, Mapping[str, Any]]]:
    """The rows left and not taken yet; they are no longer left."""
    left: list[tuple[Table, Mapping[str, Any]]] = session.info.pop(_LEFT, [])
    return left


def took_left(session: Session) -> bool:
    """Whether a `last` batch of this session wrote rows that were left to it."""
    return bool(session.info.get(_TOOK_LEFT))


def write_left(session: Session) -> None:
    """Write the left rows no batch took, now."""
    for table, row in take_left(session):
        insert_row(session, table, row)


@contextmanager
def memoizing(session: Session) -> Iterator[None]:
    """`memo` answers from what it computed before until the block ends, without collecting
    rows: for a use case that reads the same tenant, plan, endpoints or accounts several times
    and changes none of them (creating a subscription, which issues and charges an invoice).
    Inside a batch (or another such block) it changes nothing."""
    if _memo(session) is not None:
        yield
        return
    session.info[_MEMO_KEY] = _Memo()
    try:
        yield
    finally:
        session.info.pop(_MEMO_KEY, None)


# A key is an id: letters, digits, `_`; so is a value, with `/`, `-`, `.`: neither needs escaping
# in the JSON, text or HTML that holds it.
_STAND_IN = re.compile(r"\{\{hisaab:([A-Za-z0-9_]+)\}\}")
_STAND_IN_START = "{{hisaab:"
_SETTLED_VALUE = re.compile(r"[A-Za-z0-9_/.-]+")


def stand_in(key: str) -> str:
    """What goes where the value `settle_at_flush` learns under `key` (an id) goes, until it is
    known."""
    return f"{_STAND_IN_START}{key}}}}}"


def settle_at_flush(session: Session, settle: Callable[[Session], Mapping[str, str]]) -> None:
    """Have `settle` run as the batch's next flush begins (the one that writes the new objects
    holding stand-ins, which `settle` gives their values), returning each stand-in's value by
    its key: the rows `insert_row` collected with stand-ins then get the values. Registered in a
    batch that fails, it never runs: nothing is taken for objects that are never written.

    Only `insert_row`'s rows are looked at (those of `insert_rows`, journal lines and the like,
    hold no text about a document); an emitted event's `data`, which its handlers read in the
    transaction, keeps the stand-in."""
    current = _current(session)
    if current is None:
        raise RuntimeError("settle_at_flush needs a bulk batch")
    current.unsettled.append(settle)


def _settle_stand_ins(session: Session, _context: object, _objects: object) -> None:
    current = _current(session)
    if current is None or not current.unsettled:
        return
    unsettled, current.unsettled = current.unsettled, []
    values: dict[str, str] = {}
    for settle in unsettled:
        values.update(settle(session))
    if bad := [value for value in values.values() if not _SETTLED_VALUE.fullmatch(value)]:
        raise ValueError(f"{bad[0]!r} cannot take a stand-in's place unescaped")

    def value(match: re.Match[str]) -> str:
        return values.get(match[1], match[0])  # not one of ours: text someone wrote

    rows, current.holding = current.holding, []
    for row in rows:
        for name, text in row.items():
            if isinstance(text, str) and _STAND_IN_START in text:
                settled = _STAND_IN.sub(value, text)
                row[name] = JsonText(settled) if isinstance(text, JsonText) else settled


# First of the flush's listeners: the set-based flush (`core.set_flush`) writes new objects in
# its own, and must find them settled.
event.listen(Session, "before_flush", _settle_stand_ins, insert=True)


def _holds_stand_in(values: Mapping[str, Any]) -> bool:
    return any(isinstance(v, str) and _STAND_IN_START in v for v in values.values())


def insert_row(
    session: Session,
    table: Table,
    values: Mapping[str, Any],
    *,
    once_on: Sequence[str] | None = None,
) -> bool:
    """Insert now, or at the end of the batch; False only when a row with the same `once_on`
    key already existed (outside a batch)."""
    current = _current(session)
    key = tuple(once_on) if once_on is not None else None
    if current is not None:
        if current.unsettled and _holds_stand_in(values):
            values = dict(values)
            current.holding.append(values)
        current.tables.setdefault((table, key), []).append(values)
        return True
    if key is None:
        # A fixed VALUES statement (`_write`), which psycopg prepares after a few uses: what a
        # request writes on every call (its audit entry) costs the driver's work only.
        _write(session, [(table, None, [values])])
        return True
    return session.execute(_insert_once(table, key), dict(values)).first() is not None


@functools.cache
def _insert_once(table: Table, key: tuple[str, ...]) -> Any:
    """Built once per table and key: the values go as parameters, so each call only binds."""
    return (
        pg_insert(table)
        .on_conflict_do_nothing(index_elements=list(key))
        .returning(*(table.c[name] for name in key))
    )


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Many rows of one table: collected in a batch, else one statement now (as a batch writes
    them: an executemany would send psycopg one statement per row)."""
    if not rows:
        return
    current = _current(session)
    if current is not None:
        current.tables.setdefault((table, None), []).extend(rows)
        return
    _write(session, [(table, None, rows)])


def construct(cls: type[T], **values: Any) -> T:
    """A new ORM object holding these column values, made without the mapped class's
    constructor, whose per-attribute events (history for an object that has none yet) cost
    more than all else of making it: a billing run makes an invoice, a line and a payment
    try per renewal. It is transient, as a constructed object is; changes from here on are
    tracked as usual. Only column attributes may be given (the constructor would also take
    relationships and settable properties; none of the objects made here has any)."""
    unknown = values.keys() - _column_keys(cast(type, cls))
    if unknown:
        raise TypeError(f"{cls.__name__} has no column attribute {sorted(unknown)[0]!r}")
    obj: T = manager_of_class(cls).new_instance()
    obj.__dict__.update(values)
    return obj


@functools.cache
def _column_keys(cls: type) -> frozenset[str]:
    mapper: Mapper[Any] = sa_inspect(cls)
    return frozenset(prop.key for prop in mapper.column_attrs)


def collect(session: Session, key: str, write: Callable[[Session, list[Any]], None]) -> list[Any]:
    """The batch's list under `key`, handed to `write` once the batch's rows are written (after
    them): for writes that are not rows of a table, such as jobs, which go through
    procrastinate's own function (call inside a batch)."""
    current = _current(session)
    if current is None:
        raise RuntimeError("collect needs a bulk batch")
    if key not in current.collected:
        items: list[Any] = []
        current.collected[key] = items
        current.after.append(lambda s: write(s, items))
    return current.collected[key]


def keep(session: Session, objects: Sequence[object]) -> None:
    """Hold ORM objects read ahead for the rest of the batch: the session keeps only weak
    references, and an object it forgot is read again by the next `session.get`."""
    current = _memo(session)
    if current is not None:
        current.kept.extend(objects)


def memo(session: Session, key: Any, compute: Callable[[], T]) -> T:
    """A value computed once per batch or `memoizing` block (what its writes cannot change, like
    a tenant's webhook endpoints); elsewhere, computed every time."""
    current = _memo(session)
    if current is None:
        return compute()
    if key not in current.values:
        current.values[key] = compute()
    value: T = current.values[key]
    return value


def recall(session: Session, key: Any) -> Any | None:
    """What `memo` or `remember` holds under `key` in this batch or block, None when nothing:
    for a caller that reads the rest itself, for many keys at once."""
    current = _memo(session)
    return None if current is None else current.values.get(key)


def remember(session: Session, key: Any, value: Any) -> None:
    """Give `memo` an answer read ahead for many keys at once (no-op where `memo` computes every
    time)."""
    current = _memo(session)
    if current is not None:
        current.values[key] = value


def forget(session: Session, key: Any) -> None:
    """Drop what `memo` knows under `key`, after the batch changed it."""
    current = _memo(session)
    if current is not None:
        current.values.pop(key, None)


def flush(session: Session) -> None:
    """ORM objects first (collected rows may point at them), then each table's rows in the order
    the tables were first written to; the plain inserts of tables in a row go as one statement
    (a request's few rows would cost a round trip each). The new objects the closing flush
    inserts last (`insert_now(..., last=True)`) go in that statement too, before the rows."""
    current = _current(session)
    if current is None:
        return
    current.closing = []
    try:
        session.flush()
        closing = current.closing
    finally:
        current.closing = None
    first: list[tuple[Table, tuple[str, ...] | None, Sequence[Mapping[str, Any]]]] = [
        (table, None, rows) for table, rows in closing
    ]
    while first or current.tables or current.after:
        tables, current.tables = current.tables, {}
        _write(session, [*first, *((table, key, rows) for (table, key), rows in tables.items())])
        first = []
        after, current.after = current.after, []
        current.collected = {}  # what is collected from here on is written by the next round
        for write in after:
            write(session)


def insert_now(
    session: Session,
    tables: Sequence[tuple[Table, Sequence[Mapping[str, Any]]]],
    *,
    last: bool = False,
) -> None:
    """Rows of tables, in this order, each table's as one INSERT … SELECT FROM unnest(column
    arrays) (a single row: as VALUES): one short statement that PostgreSQL prepares once, each
    column one array parameter, instead of a statement of thousands of bind parameters to
    build, parse and plan per chunk (COPY would be faster still, but PostgreSQL refuses COPY
    FROM into a table under row-level security). Values pass through the columns' SQLAlchemy
    bind processors (JSONB wrapping, for one), as an INSERT would; rows that leave a column out
    get its server default. The inserts of tables in a row go as one statement, as a batch's
    do (a flush that writes a subscription, its invoice and the invoice's lines: one round
    trip). Tables this cannot serve (array columns, which unnest would flatten; Python-side
    defaults) take the plain multi-row INSERT, between the statements of those before and
    after them.

    `last`: nothing the flush writes comes after these rows. In a batch's closing flush they
    then wait for the batch's rows, to go with them (`flush`): nothing reads between the two."""
    current = _current(session)
    if last and current is not None and current.closing is not None:
        current.closing.extend(tables)
        return
    _write(session, [(table, None, rows) for table, rows in tables])


def _write(
    session: Session,
    tables: Sequence[tuple[Table, tuple[str, ...] | None, Sequence[Mapping[str, Any]]]],
) -> None:
    """Each table's rows (ON CONFLICT DO NOTHING on the key, if one is given), in this order;
    the fixed INSERTs of tables in a row as one statement."""
    connection = session.connection()
    parts: list[_Part] = []
    for table, key, rows in tables:
        if _driver_sql_serves(table):
            table_parts = _insert_parts(table, key, rows, connection.dialect)
            if key is None or len(table_parts) == 1:
                parts.extend(table_parts)
                continue
            # Parts of one statement do not see each other's rows: ON CONFLICT would miss a
            # key repeated across two of them, so each goes in a statement of its own.
            _send(connection, parts)
            parts = []
            for part in table_parts:
                _send(connection, [part])
            continue
        _send(connection, parts)
        parts = []
        if key is None:
            session.execute(insert(table), list(rows))
            continue
        for start in range(0, len(rows), CHUNK):
            statement = pg_insert(table).on_conflict_do_nothing(index_elements=list(key))
            session.execute(statement, list(rows[start : start + CHUNK]))
    _send(connection, parts)


# A fixed INSERT of one table and set of columns, and its parameters.
_Part = tuple[str, tuple[Any, ...]]


def _send(connection: Connection, parts: Sequence[_Part]) -> None:
    """The parts as one statement, each INSERT but the last a data-modifying `WITH` part of it.
    Foreign keys are checked at the statement's end, so a row may point at one beside it."""
    if not parts:
        return
    *withs, (sql, params) = parts
    if withs:
        named = ", ".join(f"w{index} AS ({part})" for index, (part, _) in enumerate(withs))
        sql = f"WITH {named} {sql}"
        params = tuple(value for _, values in parts for value in values)
    connection.exec_driver_sql(sql, params)


def _insert_parts(
    table: Table,
    key: tuple[str, ...] | None,
    rows: Sequence[Mapping[str, Any]],
    dialect: Dialect,
) -> list[_Part]:
    """The INSERT of each set of columns the rows give, with its parameters (ON CONFLICT DO
    NOTHING on `key`, if given, which also skips a row that repeats an earlier row's key in the
    same statement)."""
    groups: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    parts = []
    null_when_left_out = _null_when_left_out(table)
    for names, members in groups.items():
        one = len(members) == 1
        sent_names: list[str] = []
        as_text: list[bool] = []
        params = []
        for name in names:
            values = [row[name] for row in members]
            # A JSON column whose every value is already serialized goes as text, cast there.
            text = all(isinstance(v, JsonText) for v in values)
            if not text:
                values = [json.loads(v) if isinstance(v, JsonText) else v for v in values]
                if (process := _processor(table, name, dialect)) is not None:
                    values = [process(v) for v in values]
                # NULL all along: left out, which costs neither side a column of nulls.
                if name in null_when_left_out and values.count(None) == len(values):
                    continue
            sent_names.append(name)
            as_text.append(text)
            params.append(values[0] if one else values)
        sql = _insert_statement(table, tuple(sent_names), tuple(as_text), key, one, dialect)
        parts.append((sql, tuple(params)))
    return parts


@functools.cache
def _null_when_left_out(table: Table) -> frozenset[str]:
    """The columns an INSERT that leaves them out fills with NULL."""
    return frozenset(
        column.name
        for column in table.columns
        if column.nullable
        and column.server_default is None
        and column.default is None
        and column.identity is None
        and column.computed is None
    )


@functools.cache
def _processor(table: Table, name: str, dialect: Dialect) -> Callable[[Any], Any] | None:
    processor: Callable[[Any], Any] | None = table.c[name].type._cached_bind_processor(dialect)
    return processor


@functools.cache
def _driver_sql_serves(table: Table) -> bool:
    """Whether the fixed statements below can write the table's rows: not when a column has a
    Python-side default (only the expression language applies it) or is an array (unnest would
    flatten it; kept out of the one-row statement too, so both take the same tables)."""
    return not any(isinstance(c.type, ARRAY) or c.default is not None for c in table.columns)


@functools.cache
def _insert_statement(
    table: Table,
    names: tuple[str, ...],
    as_text: tuple[bool, ...],
    key: tuple[str, ...] | None,
    one: bool,
    dialect: Dialect,
) -> str:
    """The statement, built once per table and column set (a one-row insert, as a request
    makes, would otherwise spend more on compiling the column types than on the insert).

    Many rows: INSERT … SELECT FROM unnest(column arrays), one short statement whatever their
    number. One row: a plain VALUES list, as psycopg dumps a single value far more cheaply than
    a one-element array (a request's customer, event and audit entry)."""
    quote = dialect.identifier_preparer.quote
    columns = [table.c[name] for name in names]
    types = [column.type.compile(dialect) for column in columns]
    if one:
        values = [
            f"%s::{type_}" if text else "%s" for type_, text in zip(types, as_text, strict=True)
        ]
        source = f"VALUES ({', '.join(values)})"
    else:
        # %b: binary arrays, which psycopg builds without escaping each element.
        casts = [
            f"%b::text[]::{type_}[]" if text else f"%b::{type_}[]"
            for type_, text in zip(types, as_text, strict=True)
        ]
        source = f"SELECT * FROM unnest({', '.join(casts)})"
    sql = f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) {source}"
    if key is not None:
        sql += f" ON CONFLICT ({', '.join(quote(name) for name in key)}) DO NOTHING"
    return sql
