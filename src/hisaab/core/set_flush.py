"""A flush's plain inserts and updates written as one statement per table and column set, just
before the unit of work would write them one by one.

A billing batch adds hundreds of objects (payment attempts) and changes hundreds of loaded rows
(every subscription moves to its next period, every paid invoice and its attempt change
status). The unit of work sends one statement per row and spends more on its per-object
bookkeeping than the statements cost. Here, as a flush begins:

- changed objects whose changes are plain column values are grouped by table and changed
  columns, each group written by one `UPDATE … FROM unnest(…)`;
- new objects are inserted with one `INSERT … SELECT FROM unnest(column arrays)` per table
  (`bulk`'s statement), when every new object of the flush can be (else the unit of work
  inserts them all, in its own order);

table by table in foreign-key order, each table's updates before its inserts (as the unit of
work does: an update may free a unique value a new row takes), and all of them are registered
as written, as the unit of work does after its statements. The flush that follows has only
what this leaves to it: deletes and flushes of chosen objects (left whole to it), SQL
expressions as values, changed or expired keys, naive datetimes (an array takes one kind),
values the database or SQLAlchemy fills in, foreign keys to rows the unit of work has yet to
insert (or to new rows of the row's own table), and mappers this does not serve (see
`_serves`).

What the unit of work promises still holds: every updated row is found (else
`StaleDataError`), a row whose values did not change is not written (so not locked), rows are
updated in key order (so two transactions updating the same rows cannot deadlock), a failed
flush leaves the session to be rolled back, and a rollback expires what was written.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, MetaData, Table, event, util
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import ColumnProperty, Mapper, Session, UOWTransaction
from sqlalchemy.orm.base import NO_VALUE
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.state import InstanceState
from sqlalchemy.sql import ClauseElement

from hisaab.core import bulk

State = InstanceState[Any]


def _serves(mapper: Mapper[Any]) -> bool:
    """A mapper whose writes nothing else hooks into: its listeners are asked every time (one
    may be added later), its shape once."""
    dispatch = mapper.dispatch
    return _plain(mapper) and not (
        dispatch.before_insert
        or dispatch.after_insert
        or dispatch.before_update
        or dispatch.after_update
    )


@functools.cache
def _plain(mapper: Mapper[Any]) -> bool:
    """One table of its own: no inheritance, no version counter, no column the database or
    SQLAlchemy fills in (the unit of work would add or fetch those values), no array column
    (unnest would flatten it)."""
    table = mapper.local_table
    return (
        isinstance(table, Table)
        and mapper.inherits is None
        and mapper.persist_selectable is table
        and mapper.version_id_col is None
        and all(
            c.default is None
            and c.server_default is None
            and c.onupdate is None
            and c.server_onupdate is None
            and not isinstance(c.type, ARRAY)
            for c in table.c
        )
        and all(len(prop.columns) == 1 for prop in mapper.column_attrs)
    )


def _table(mapper: Mapper[Any]) -> Table:
    table = mapper.local_table
    assert isinstance(table, Table)  # `_serves` lets only such mappers through
    return table


@functools.cache
def _attribute_order(mapper: Mapper[Any]) -> dict[str, int]:
    return {prop.key: index for index, prop in enumerate(mapper.column_attrs)}


@functools.cache
def _table_order(metadata: MetaData) -> dict[Table, int]:
    """Tables in foreign-key order: a row is inserted after the rows it points at."""
    return {table: index for index, table in enumerate(metadata.sorted_tables)}


def _flush_set_based(session: Session, _context: UOWTransaction, objects: Any) -> None:
    if session.deleted or objects:
        return  # the unit of work orders deletes against the rest, and picks chosen objects
    new = _states(session.new)
    inserts = _insert_groups(new)
    pending_tables = {state.mapper.local_table for state in new}
    # Rows the unit of work will insert, an update must not point at: it inserts after this.
    # Rows inserted here come after the updates of their own table only.
    unreachable = pending_tables if inserts is None else set()
    updates: dict[tuple[Mapper[Any], tuple[str, ...]], list[State]] = {}
    unchanged: list[State] = []
    left_to_unit_of_work = False
    for state in _states(session.dirty):
        columns = _changed_columns(
            state, unreachable or {state.mapper.local_table} & pending_tables
        )
        if columns == ():
            unchanged.append(state)
        elif columns is not None:
            updates.setdefault((state.mapper, columns), []).append(state)
        else:
            left_to_unit_of_work = True
    writes: list[tuple[Table, int, Callable[[], None] | None, list[State]]] = [
        (_table(mapper), 0, functools.partial(_update, session, mapper, columns, states), states)
        for (mapper, columns), states in updates.items()
    ] + [(table, 1, None, states) for table, states in (inserts or {}).items()]
    if writes:
        order = _table_order(writes[0][0].metadata)
        writes.sort(key=lambda write: (order[write[0]], write[1]))
        # A subtransaction, as the unit of work's: a failure marks the session for rollback,
        # so what this wrote before it can never be committed by a caller that goes on.
        transaction = session._autobegin_t()._begin()
        try:
            # The inserts of tables in a row (no update between them) go as one statement.
            run: list[tuple[Table, list[State]]] = []
            for table, _, update, states in writes:
                if update is None:
                    run.append((table, states))
                    continue
                _insert(session, run)
                run = []
                update()
            # Nothing written after the last inserts (here or by the unit of work): at the end
            # of a bulk batch they may go with its rows.
            _insert(session, run, last=not left_to_unit_of_work)
            transaction.commit()
        except BaseException:
            with util.safe_reraise():
                transaction.rollback(_capture_exception=True)
    written = {state for *_, states in writes for state in states}
    if written or unchanged:
        session._register_persistent(written | set(unchanged))


def _states(objects: Iterable[object]) -> list[State]:
    return [obj._sa_instance_state for obj in objects]  # type: ignore[attr-defined]


def _insert_groups(new: list[State]) -> dict[Table, list[State]] | None:
    """The new objects by table; None when the unit of work must insert them (one it alone can
    insert: it orders them all)."""
    groups: dict[Table, list[State]] = {}
    for state in new:
        mapper = state.mapper
        if not _serves(mapper):
            return None
        values = state.dict
        for prop in mapper.column_attrs:
            value = values.get(prop.key, NO_VALUE)
            if value is NO_VALUE:
                column = prop.columns[0]
                if column.primary_key:
                    return None  # the unit of work's error says what is missing
                if not column.type.should_evaluate_none:
                    values[prop.key] = None  # what the unit of work writes for it
                # A JSON column stays out of the row, as the unit of work leaves it (SQL NULL,
                # where None would be JSON null).
            elif not _plain_value(value):
                return None
        groups.setdefault(_table(mapper), []).append(state)
    return groups


def _insert(
    session: Session, tables: list[tuple[Table, list[State]]], *, last: bool = False
) -> None:
    if not tables:
        return
    batch = []
    for table, states in tables:
        names = [(prop.key, prop.columns[0].key) for prop in states[0].mapper.column_attrs]
        rows = [
            {column: state.dict[key] for key, column in names if key in state.dict}
            for state in states
        ]
        batch.append((table, rows))
    bulk.insert_now(session, batch, last=last)
    for _, states in tables:  # what a column left out holds now, without asking the database
        for state in states:
            for prop in state.mapper.column_attrs:
                state.dict.setdefault(prop.key, None)


def _changed_columns(state: State, pending_tables: set[Any]) -> tuple[str, ...] | None:
    """The attributes of the object's row to write, in mapper order; None when the unit of work
    must write it, () when nothing changed."""
    mapper = state.mapper
    if not _serves(mapper):
        return None
    values = state.dict
    if any(key not in values for key in _key_attributes(mapper)):
        return None  # expired: the unit of work loads the key first
    changed = []
    for key, old in state.committed_state.items():
        prop = mapper.attrs.get(key)
        if not isinstance(prop, ColumnProperty):
            return None
        column = prop.columns[0]
        new = values.get(key, NO_VALUE)
        if (
            new is NO_VALUE
            or not _plain_value(new)
            or column.primary_key
            or any(fk.column.table in pending_tables for fk in column.foreign_keys)
        ):
            return None
        if old is NO_VALUE or not column.type.compare_values(old, new):
            changed.append(key)
    order = _attribute_order(mapper)
    return tuple(sorted(changed, key=order.__getitem__))


def _plain_value(value: Any) -> bool:
    """A value to bind as it is: not SQL (an expression, or an ORM attribute, which the unit of
    work renders as SQL), not a naive datetime (an array binds one kind of datetime)."""
    if isinstance(value, ClauseElement) or hasattr(value, "__clause_element__"):
        return False
    return not (isinstance(value, datetime) and value.tzinfo is None)


@functools.cache
def _key_attributes(mapper: Mapper[Any]) -> tuple[str, ...]:
    return tuple(mapper.get_property_by_column(c).key for c in mapper.primary_key)


def _update(
    session: Session, mapper: Mapper[Any], columns: tuple[str, ...], states: list[State]
) -> None:
    connection = session.connection()
    keys = _key_attributes(mapper)
    states.sort(key=lambda state: tuple(state.dict[key] for key in keys))
    sql, processors = _update_statement(mapper, keys, columns, connection.dialect)
    arrays = []
    for name, process in zip((*keys, *columns), processors, strict=True):
        values = [state.dict[name] for state in states]
        arrays.append(values if process is None else [process(v) for v in values])
    result = connection.exec_driver_sql(sql, tuple(arrays))
    if result.rowcount != len(states):
        raise StaleDataError(
            f"UPDATE of {_table(mapper).name} expected to match {len(states)} rows; "
            f"{result.rowcount} were matched"
        )


@functools.cache
def _update_statement(
    mapper: Mapper[Any], keys: tuple[str, ...], columns: tuple[str, ...], dialect: Dialect
) -> tuple[str, Sequence[Callable[[Any], Any] | None]]:
    """The UPDATE and the bind processors of its arrays (keys first), built once per table and
    column set."""
    quote = dialect.identifier_preparer.quote
    table = _table(mapper)
    names = [mapper.attrs[key].columns[0].key for key in (*keys, *columns)]
    types = [table.c[name].type for name in names]
    arrays = ", ".join(f"%b::{kind.compile(dialect)}[]" for kind in types)
    sql = (
        f"UPDATE {quote(table.name)} AS t SET "
        + ", ".join(f"{quote(n)} = v.{quote(n)}" for n in names[len(keys) :])
        + f" FROM unnest({arrays}) AS v({', '.join(quote(n) for n in names)}) WHERE "
        + " AND ".join(f"t.{quote(n)} = v.{quote(n)}" for n in names[: len(keys)])
    )
    return sql, tuple(kind._cached_bind_processor(dialect) for kind in types)


event.listen(Session, "before_flush", _flush_set_based)
