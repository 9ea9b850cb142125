"""Migrations agree with the models, round-trip, and gate readiness."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

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


def _function_result(connection: Any) -> str:
    return str(
        connection.execute(
            text("SELECT pg_get_function_result('hisaab_resolve_api_key(text)'::regprocedure)")
        ).scalar_one()
    )


def _can_resolve(connection: Any, role: str) -> tuple[bool, bool]:
    """Whether `role`, and PUBLIC, may execute the key lookup."""
    row = connection.execute(
        text(
            "SELECT has_function_privilege(:role, 'hisaab_resolve_api_key(text)', 'EXECUTE'),"
            " EXISTS (SELECT 1 FROM pg_proc p, aclexplode(p.proacl) a"
            "         WHERE p.oid = 'hisaab_resolve_api_key(text)'::regprocedure"
            "           AND a.grantee = 0)"
        ),
        {"role": role},
    ).one()
    return bool(row[0]), bool(row[1])


def _versioning_objects(connection: Any) -> list[str]:
    found = connection.execute(
        text(
            "SELECT 'column' FROM information_schema.columns"
            " WHERE table_name = 'tenants' AND column_name = 'webhooks_version'"
            " UNION ALL SELECT 'trigger' FROM pg_trigger WHERE tgname = 'webhooks_version'"
            " UNION ALL SELECT 'function' FROM pg_proc"
            " WHERE proname = 'hisaab_bump_webhooks_version'"
        )
    )
    return sorted(found.scalars())


def test_0019_versions_webhook_endpoints_and_downgrades_cleanly(
    blank_database: tuple[Any, Any],
) -> None:
    """Tenants that exist start at version 0; every endpoint change moves it, in the app role's
    own transaction though it may not write the count; downgrading restores the key lookup of
    0018 (and its grants) and drops the rest; upgrading again works."""
    owner_url, app_url = blank_database
    migrations.upgrade(owner_url, app_url, "0018")
    owner = create_engine(owner_url)
    app = create_engine(app_url)
    role = app_url.username
    try:
        with owner.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO tenants (id, name, country, base_currency, timezone,"
                    " invoice_prefix, lut, tax_registrations, dunning, gateways, created_at,"
                    " updated_at) VALUES ('ten_m', 'M', 'IN', 'INR', 'Asia/Kolkata', 'M', false,"
                    " '[]', '{}', '{}', now(), now());"
                    "INSERT INTO api_keys VALUES ('ten_m', 'key_m', 'hash_m', 'abcd', now(), NULL)"
                )
            )
        migrations.upgrade(owner_url, app_url)
        with owner.connect() as connection:
            assert _versioning_objects(connection) == ["column", "function", "trigger"]
            assert "webhooks_version bigint" in _function_result(connection)
            assert _can_resolve(connection, role) == (True, False)
        with owner.begin() as connection:  # the trigger needs no right of the app role's
            connection.execute(text(f"REVOKE UPDATE ON tenants FROM {role}"))
        with app.begin() as connection:
            resolved = connection.execute(
                text(
                    "SELECT tenant_id, key_id, webhooks_version,"
                    " set_config('app.tenant_id', tenant_id, true)"
                    " FROM hisaab_resolve_api_key('hash_m')"
                )
            ).one()
            assert tuple(resolved[:3]) == ("ten_m", "key_m", 0)
            connection.execute(
                text(
                    "INSERT INTO webhook_endpoints VALUES ('ten_m', 'we_m', 'https://x.test',"
                    " '{*}', NULL, 'sealed', NULL, NULL, now(), now())"
                )
            )
            connection.execute(text("DELETE FROM webhook_endpoints"))
            assert (
                connection.execute(text("SELECT webhooks_version FROM tenants")).scalar_one() == 2
            )
        with owner.begin() as connection:
            connection.execute(text(f"GRANT UPDATE ON tenants TO {role}"))

        migrations.downgrade(owner_url, app_url, "0018")
        with owner.connect() as connection:
            assert _versioning_objects(connection) == []
            assert _function_result(connection) == "TABLE(tenant_id text, key_id text)"
            assert _can_resolve(connection, role) == (True, False)
        with app.begin() as connection:
            assert connection.execute(
                text("SELECT * FROM hisaab_resolve_api_key('hash_m')")
            ).one() == ("ten_m", "key_m")
            connection.execute(text("SELECT set_config('app.tenant_id', 'ten_m', true)"))
            connection.execute(  # no trigger left to fire
                text(
                    "INSERT INTO webhook_endpoints VALUES ('ten_m', 'we_n', 'https://x.test',"
                    " '{*}', NULL, 'sealed', NULL, NULL, now(), now())"
                )
            )

        migrations.upgrade(owner_url, app_url)
        with owner.connect() as connection:
            assert _versioning_objects(connection) == ["column", "function", "trigger"]
    finally:
        owner.dispose()
        app.dispose()
