"""Migrations agree with the models, round-trip, and gate readiness."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from hisaab import migrations
from hisaab.app import create_app
from hisaab.db import Database
from hisaab.migrations.metadata import target_metadata
from hisaab.settings import Settings, database_urls
from tests.conftest import ADMIN_TOKEN
from tests.databases import create_database, drop_database


def _ours(name: str | None, type_: str, parent_names: Any) -> bool:
    return not (name or "").startswith(("procrastinate", "alembic_version"))


def test_models_and_migrations_agree(test_db: Any) -> None:
    """What `alembic check` checks: autogenerate would find nothing to do."""
    engine = create_engine(test_db.owner_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"include_name": _ours, "compare_type": True}
            )
            diff = compare_metadata(context, target_metadata)
    finally:
        engine.dispose()
    assert diff == []


@pytest.fixture
def blank_database(cluster_url: str, worker_id: str) -> Iterator[tuple[Any, Any]]:
    name = f"hisaab_blank_{worker_id}_{os.getpid()}"
    owner = create_database(cluster_url, name)
    yield database_urls(owner.render_as_string(False), Settings())
    drop_database(cluster_url, name)


def test_readyz_is_503_until_migrations_are_applied(blank_database: tuple[Any, Any]) -> None:
    owner_url, app_url = blank_database
    # The app role may not exist yet on a brand-new cluster: readiness asks as the owner here.
    database = Database.connect(owner_url, pool_size=1)
    try:
        with TestClient(create_app(database, ADMIN_TOKEN)) as http:
            pending = http.get("/readyz")
            assert pending.status_code == 503
            assert pending.json()["status"] == "migrations_pending"
            assert http.get("/healthz").status_code == 200
            migrations.upgrade(owner_url, app_url)
            ready = http.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["schema_revision"] == migrations.head_revision()
            migrations.downgrade(owner_url, app_url, "base")
            assert http.get("/readyz").status_code == 503
            migrations.upgrade(owner_url, app_url)
            assert http.get("/readyz").status_code == 200
    finally:
        database.dispose()


def test_readyz_is_503_when_the_database_is_unreachable() -> None:
    from sqlalchemy.engine import make_url

    database = Database.connect(
        make_url("postgresql+psycopg://nobody@127.0.0.1:1/none"), pool_size=1
    )
    try:
        with TestClient(create_app(database, ADMIN_TOKEN)) as http:
            response = http.get("/readyz")
        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"
    finally:
        database.dispose()


def test_migrating_twice_is_harmless(test_db: Any) -> None:
    migrations.upgrade(test_db.owner_url, test_db.app_url)
