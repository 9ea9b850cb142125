"""Facts about rows that never change once committed (a ledger account exists; a plan version's
terms), kept per process so that a hot path need not ask the database again.

What a transaction learns counts for the process only once that transaction commits: the row
may be its own insert, or read from one, and a rollback would take it away. Until then the
transaction itself may use it. A released savepoint is no commit (SQLAlchemy reports it as
one: `after_commit` fires for it too), and any rollback, a savepoint's included, forgets
what the transaction learned: asking again costs one statement, believing a row that is not
there breaks the next foreign key or answers with something nobody committed.

Per engine, i.e. per database: what one database holds says nothing of another (a restored
one, the test suite's second pool).
"""

from __future__ import annotations

import weakref
from typing import Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, SessionTransaction

K = TypeVar("K")
V = TypeVar("V")


class CommittedCache(Generic[K, V]):
    def __init__(self, name: str, max_size: int = 100_000) -> None:
        self._learned = f"hisaab.committed.{name}"
        self._max_size = max_size
        self._known: weakref.WeakKeyDictionary[Engine, dict[K, V]] = weakref.WeakKeyDictionary()
        event.listen(Session, "after_commit", self._keep)
        event.listen(Session, "after_soft_rollback", self._forget)

    def get(self, session: Session, key: K) -> V | None:
        """What the process knows committed, or this transaction learned, under `key`."""
        known = self._known.get(session.get_bind().engine)
        if known is not None and (value := known.get(key)) is not None:
            return value
        learned: dict[K, V] = session.info.get(self._learned, {})
        return learned.get(key)

    def learn(self, session: Session, key: K, value: V) -> None:
        """What the session's transaction read or wrote: known to all once it commits."""
        session.info.setdefault(self._learned, {})[key] = value

    def _keep(self, session: Session) -> None:
        if session.in_nested_transaction():
            return  # a savepoint released: the transaction may still roll back
        learned: dict[K, V] | None = session.info.pop(self._learned, None)
        if learned:
            known = self._known.setdefault(session.get_bind().engine, {})
            if len(known) + len(learned) > self._max_size:
                known.clear()
            known.update(learned)

    def _forget(self, session: Session, _previous: SessionTransaction) -> None:
        session.info.pop(self._learned, None)
