"""The application's connection pool keeps the connections it opens: more transactions at once
than it had before reuse them, instead of each opening (and closing) a connection of its own, a
new server process with cold caches; and a transaction beyond the pool's size waits for one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from hisaab.db import Database
from tests.conftest import TestDatabase


@pytest.fixture
def pool(test_db: TestDatabase) -> Iterator[Database]:
    database = Database.connect(test_db.app_url)  # the size processes get by default
    yield database
    database.dispose()


def _backends_at_once(database: Database, count: int) -> set[int]:
    """The server processes of `count` transactions held open together."""
    all_open = threading.Barrier(count, timeout=30)

    def hold() -> int:
        with database.transaction(None) as session:
            backend = int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())
            all_open.wait()
            return backend

    with ThreadPoolExecutor(count) as threads:
        return set(threads.map(lambda _: hold(), range(count)))


def test_busy_moments_reuse_the_connections_they_opened(pool: Database) -> None:
    first = _backends_at_once(pool, 12)
    second = _backends_at_once(pool, 12)

    assert len(first) == 12
    assert second == first  # none closed on the way back, none opened anew


def _backend(database: Database) -> int:
    with database.transaction(None) as session:
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_transaction_beyond_the_pool_waits_for_a_connection(test_db: TestDatabase) -> None:
    database = Database.connect(test_db.app_url, pool_size=2)
    waiting = ThreadPoolExecutor(1)
    try:
        held = [database.begin(None), database.begin(None)]
        backends = {
            int(session.execute(text("SELECT pg_backend_pid()")).scalar_one()) for session in held
        }
        third = waiting.submit(_backend, database)
        with pytest.raises(TimeoutError):
            third.result(timeout=0.5)  # no third connection while two are held
        held.pop().close()
        assert third.result(timeout=10) in backends
        held.pop().close()
    finally:
        waiting.shutdown()
        database.dispose()
