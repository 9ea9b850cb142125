"""Scratch databases on a PostgreSQL cluster, for the test suite and the benchmarks: the embedded
cluster in `.pytest-pg/` by default, or the server of HISAAB_TEST_DATABASE_URL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, Connection, make_url

from hisaab import migrations
from hisaab.db import owner_engine
from hisaab.embedded import EmbeddedPostgres
from hisaab.settings import Settings, database_urls

ROOT = Path(__file__).resolve().parent.parent
_embedded = EmbeddedPostgres(ROOT / ".pytest-pg")


def cluster_url() -> str:
    """Superuser URL of the cluster to create scratch databases in."""
    return os.environ.get("HISAAB_TEST_DATABASE_URL") or _embedded.start_cluster()


def _admin(cluster: str) -> psycopg.Connection[Any]:
    return psycopg.connect(libpq(make_url(cluster)), autocommit=True)


def drop_database(cluster: str, name: str) -> None:
    with _admin(cluster) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def create_database(cluster: str, name: str) -> URL:
    """A new empty database (dropped first if a previous run left it) and its owner URL."""
    drop_database(cluster, name)
    with _admin(cluster) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(cluster).set(drivername="postgresql+psycopg", database=name)


def migrated_database(cluster: str, name: str) -> tuple[URL, URL]:
    """A new database with Hisaab's schema: its owner URL and the application role's URL."""
    owner = create_database(cluster, name)
    owner_url, app_url = database_urls(owner.render_as_string(False), Settings())
    migrations.upgrade(owner_url, app_url)
    return owner_url, app_url


@contextmanager
def owner_connection(owner_url: URL) -> Iterator[Connection]:
    """A connection as the tables' owner, which row-level security does not filter: for checks
    over every tenant's rows."""
    engine = owner_engine(owner_url)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def libpq(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)
