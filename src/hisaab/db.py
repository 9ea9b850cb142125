"""Engines, sessions and the one place where a transaction is given its tenant scope.

The runtime engine connects as the application role, which owns no table and cannot bypass
row-level security; only migrations use the owner connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import pydantic_core
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import URL, CursorResult, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool

from hisaab.core import set_flush  # noqa: F401 - every session flushes set-based where it can

T = TypeVar("T")
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Connections a process keeps at most, unless HISAAB_DB_POOL_SIZE says otherwise.
POOL_SIZE = 20


@dataclass
class Database:
    """The application's connection pool and session factory."""

    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def connect(cls, app_url: URL, pool_size: int = POOL_SIZE) -> Database:
        # No pre-ping (a round trip on every checkout): a transaction's first statement is run
        # by `first_statement`, which tries once more on a fresh connection when the pooled one
        # turns out to be dead (the database restarted), before anything else was sent.
        # No overflow: the pool closes an overflow connection as soon as it is given back, so
        # with more transactions at once than the pool's size every request beyond it paid for
        # a new connection (a new server process, its caches cold): one API process at 16
        # requests in flight created 570 customers/s with overflow, 670/s without. Connections
        # are opened as needed up to `pool_size` and kept; a transaction beyond waits for one.
        engine = create_engine(
            app_url,
            pool_size=pool_size,
            max_overflow=0,
            connect_args={"application_name": "hisaab"},
            json_serializer=json_dumps,
        )
        return cls(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))

    def dispose(self) -> None:
        self.engine.dispose()

    def begin(self, scope: str | None) -> Session:
        """A session inside an open transaction bound to `scope` (None: no tenant at all)."""
        if scope is None:
            session = self.sessions()
            session.begin()
            return session
        session, _ = self.first_statement(lambda s: bind_scope(s, scope))
        return session

    def first_statement(self, run: Callable[[Session], T]) -> tuple[Session, T]:
        """A session in a new transaction, and what `run` (its first statement) returned.

        The pool does not test connections before handing them out; a dead one (the server
        restarted or dropped it) fails here, the pool then replaces every connection it held
        before, and `run` is tried once more on a fresh one: nothing had been sent in the
        transaction yet. Any other error closes the session and is raised.
        """
        for last_try in (False, True):
            session = self.sessions()
            session.begin()
            try:
                return session, run(session)
            except DBAPIError as exc:
                session.close()
                if last_try or not exc.connection_invalidated:
                    raise
            except BaseException:
                session.close()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    @contextmanager
    def transaction(self, scope: str | None) -> Iterator[Session]:
        """Commit if the block finishes, roll back if it raises: the job-side unit of work."""
        session = self.begin(scope)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def json_dumps(value: object) -> bytes:
    """JSON(B) column values as psycopg sends them: pydantic's Rust encoder instead of the
    standard library's, several times faster (a billing batch writes thousands of customer
    snapshots and tax lines: json.dumps was ~2% of its CPU). NaN and infinities stay the bare
    constants the standard library writes, which PostgreSQL refuses, rather than silently
    becoming null."""
    return pydantic_core.to_json(value, inf_nan_mode="constants")


def bind_scope(session: Session, scope: str) -> None:
    """Set `app.tenant_id` for the current transaction only (is_local = true).

    This and `scoping` are the only places in Hisaab that set the tenant scope; RLS policies
    read it.
    """
    session.execute(text("SELECT set_config('app.tenant_id', :scope, true)"), {"scope": scope})


def scoping(expression: str) -> str:
    """The SQL that binds the transaction to the scope `expression` evaluates to, for a query
    that learns the scope and binds it in one round trip (authentication by API key)."""
    return f"set_config('app.tenant_id', {expression}, true)"


def run_sql(session: Session, sql: str, params: tuple[Any, ...] = ()) -> CursorResult[Any]:
    """A fixed SQL text with positional (`%s`) parameters, on the session's connection.

    For the statements every request runs (authentication, its Idempotency-Key):
    the ORM's and the expression language's per-statement work (compiling or looking up the
    compiled form, result processing) cost two to three times what the driver does; psycopg
    prepares a text it has seen a few times on the connection, as it does any other. Errors
    and dead connections are handled by SQLAlchemy as for any statement.
    """
    return session.connection().exec_driver_sql(sql, params)


def owner_engine(owner_url: URL) -> Engine:
    return create_engine(owner_url, poolclass=NullPool)
