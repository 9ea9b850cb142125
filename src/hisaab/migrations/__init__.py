"""Schema migrations (Alembic), run with the owner connection by `hisaab migrate` / `hisaab up`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.engine import URL

from hisaab.db import owner_engine

HERE = Path(__file__).parent


def _config(app_role: str, app_password: str | None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["app_role"] = app_role
    config.attributes["app_password"] = app_password
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config("", None)).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _run(owner_url: URL, app_url: URL, action: Callable[[Config], None]) -> None:
    """Run an Alembic command in one owner transaction, telling it the application role."""
    engine = owner_engine(owner_url)
    try:
        with engine.begin() as connection:
            config = _config(app_url.username or "hisaab_app", app_url.password)
            config.attributes["connection"] = connection
            action(config)
    finally:
        engine.dispose()


def upgrade(owner_url: URL, app_url: URL, revision: str = "head") -> None:
    """Bring the schema to `revision`; creates the application role if it does not exist."""
    _run(owner_url, app_url, lambda config: command.upgrade(config, revision))


def downgrade(owner_url: URL, app_url: URL, revision: str) -> None:
    _run(owner_url, app_url, lambda config: command.downgrade(config, revision))
