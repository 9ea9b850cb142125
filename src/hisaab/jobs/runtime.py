"""The database handle that job functions use; set once by the process that runs the worker."""

from __future__ import annotations

from hisaab.db import Database

_database: Database | None = None


def configure(database: Database) -> None:
    global _database  # noqa: PLW0603 - one handle per process, set at start
    _database = database


def database() -> Database:
    if _database is None:
        raise RuntimeError("jobs.runtime.configure() was not called in this process")
    return _database
