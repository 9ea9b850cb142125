"""Engines, sessions and the one place where a transaction is given its tenant scope.

The runtime engine connects as the application role, which owns no table and cannot bypass
row-level security; only migrations use the owner connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


@dataclass
class Database:
    """The application's connection pool and session factory."""

    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def connect(cls, app_url: URL, pool_size: int = 10) -> Database:
        engine = create_engine(
            app_url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            connect_args={"application_name": "hisaab"},
        )
        return cls(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))

    def dispose(self) -> None:
        self.engine.dispose()

    def begin(self, scope: str | None) -> Session:
        """A session inside an open transaction bound to `scope` (None: no tenant at all)."""
        session = self.sessions()
        session.begin()
        if scope is not None:
            bind_scope(session, scope)
        return session

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


def bind_scope(session: Session, scope: str) -> None:
    """Set `app.tenant_id` for the current transaction only (is_local = true).

    This is the only statement in Hisaab that sets the tenant scope; RLS policies read it.
    """
    session.execute(text("SELECT set_config('app.tenant_id', :scope, true)"), {"scope": scope})


def owner_engine(owner_url: URL) -> Engine:
    return create_engine(owner_url, poolclass=NullPool)
