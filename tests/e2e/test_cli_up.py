"""`hisaab up` as a user runs it: embedded PostgreSQL, printed URL and token, clean stop, and a
second start that finds the data of the first."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.conftest import INDIAN_TENANT
from tests.ports import free_port

pytestmark = pytest.mark.xdist_group("cli")


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HISAAB_")}
    env.update({"HISAAB_DATA_DIR": str(data_dir), "HISAAB_LOG_FORMAT": "json"}, **extra)
    return env


def _start(data_dir: Path, port: int) -> tuple[subprocess.Popen[str], str, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "hisaab", "up", "--port", str(port)],
        env=_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    url = token = ""
    deadline = time.monotonic() + 90
    lines = []
    while time.monotonic() < deadline and not (url and token):
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if match := re.match(r"Hisaab is running at (\S+)", line):
            url = match.group(1)
        if match := re.match(r"Operator token: (\S+)", line):
            token = match.group(1)
    assert url and token, "".join(lines)
    return process, url, token


def _postgres_running(pgdata: Path) -> bool:
    for proc in psutil.process_iter(attrs=("name", "cmdline")):
        if proc.info["name"] == "postgres" and str(pgdata) in " ".join(proc.info["cmdline"] or []):
            return True
    return False


def _stop(process: subprocess.Popen[str], sig: int) -> int:
    process.send_signal(sig)
    try:
        return process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()


def test_up_serves_stops_cleanly_and_keeps_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    process, url, token = _start(data_dir, port)
    try:
        assert url == f"http://127.0.0.1:{port}"
        created = httpx.post(
            f"{url}/v1/tenants", json=INDIAN_TENANT, headers={"Authorization": f"Bearer {token}"}
        )
        assert created.status_code == 201, created.text
        tenant_id = created.json()["tenant"]["id"]
        assert httpx.get(f"{url}/readyz").status_code == 200
        assert "hisaab_http_requests_total" in httpx.get(f"{url}/metrics").text
    finally:
        code = _stop(process, signal.SIGTERM)
    assert code == 0
    assert not _postgres_running((data_dir / "pg").resolve()), "embedded PostgreSQL stopped with it"
    assert (data_dir / "admin_token").stat().st_mode & 0o777 == 0o600

    process, url, second_token = _start(data_dir, port)
    try:
        assert second_token == token, "the generated token is kept"
        found = httpx.get(
            f"{url}/v1/tenants/{tenant_id}", headers={"Authorization": f"Bearer {token}"}
        )
        assert found.status_code == 200
    finally:
        assert _stop(process, signal.SIGINT) == 0
    assert not _postgres_running((data_dir / "pg").resolve())


def test_bad_settings_stop_with_a_clear_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hisaab", "up"],
        env=_env(tmp_path, HISAAB_PORT="eighty", HISAAB_DATABASE_URL="mysql://x@y/z"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "HISAAB_PORT" in result.stderr
    assert "HISAAB_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_api_with_two_processes_serves_on_one_port_and_stops(tmp_path: Path, test_db: Any) -> None:
    """`hisaab api --workers 2`: both processes answer on the one port; SIGTERM stops all."""
    port = free_port()
    owner = test_db.owner_url.set(drivername="postgresql").render_as_string(hide_password=False)
    process = subprocess.Popen(
        [sys.executable, "-m", "hisaab", "api", "--port", str(port), "--workers", "2"],
        env=_env(tmp_path, HISAAB_DATABASE_URL=owner, HISAAB_ADMIN_TOKEN="op_" + "w" * 30),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(psutil.Process(process.pid).children()) < 2 or not _answers(port):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        serving = {child.pid for child in psutil.Process(process.pid).children()}
        for _ in range(20):  # fresh connections: the kernel hands them to either process
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        assert _stop(process, signal.SIGTERM) == 0
        assert not [pid for pid in serving if psutil.pid_exists(pid)]
    finally:
        if process.poll() is None:
            process.kill()


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_start_after_a_killed_one_still_stops_postgres_with_it(tmp_path: Path) -> None:
    """A `hisaab up` killed outright never detaches from the embedded cluster; the next one
    forgets that dead attachment, so its own clean stop still stops PostgreSQL."""
    data_dir = tmp_path / "data"
    port = free_port()
    process, _, _ = _start(data_dir, port)
    for child in psutil.Process(process.pid).children(recursive=True):
        if child.name() != "postgres":
            child.kill()
    _stop(process, signal.SIGKILL)
    pgdata = (data_dir / "pg").resolve()
    assert _postgres_running(pgdata), "a killed process leaves the cluster running"

    process, url, _ = _start(data_dir, port)
    try:
        assert httpx.get(f"{url}/readyz").status_code == 200
    finally:
        assert _stop(process, signal.SIGINT) == 0
    assert not _postgres_running(pgdata)
