"""Crash safety of jobs with real `hisaab worker` processes: one killed (SIGKILL) in the middle
of sending an email leaves the job `doing`; the periodic recovery puts it back and a restarted
worker sends the email. A live worker's job, running for longer than the threshold, is left to it:
its heartbeats say it is alive.

The loopback SMTP server holds each session at RCPT TO until the test lets it go, so "in the
middle" is a known moment: the worker holds the message's row lock, in a job's transaction, and
the server has accepted nothing. The workers beat every HEARTBEAT.interval and recovery calls
silent ones dead after HEARTBEAT.stalled_after (production: minutes; see jobs.recovery), so each
test takes a few seconds. The database is the module's own: the workers see no other test's jobs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import URL

from hisaab.app import create_app
from hisaab.core.clock import SYSTEM_CLOCK
from hisaab.db import Database
from hisaab.jobs import recovery
from hisaab.mail import service as mail
from tests.conftest import ADMIN_TOKEN, INDIAN_TENANT, SECRET_KEY
from tests.databases import drop_database, migrated_database
from tests.mail.conftest import Inbox, invoice_draft, start_server, unique_email
from tests.workers import Heartbeat, run_recovery, start_worker, stop_workers

HEARTBEAT = Heartbeat(interval=0.2, stalled_after=1.5)
DEADLINE_SECONDS = 30
pytestmark = pytest.mark.xdist_group("worker_killed")


@dataclass
class HeldInbox(Inbox):
    """An SMTP server that keeps each session waiting at RCPT TO while `held`; `reached` tells
    the test that a worker got there."""

    reached: threading.Event = field(default_factory=threading.Event)
    go_on: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        self.reached.set()
        self.go_on.wait(DEADLINE_SECONDS)  # blocks the server's thread: a send in flight
        return await super().handle_RCPT(server, session, envelope, address, options)


@dataclass
class Scratch:
    owner_url: URL
    app_url: URL
    database: Database
    tenant_id: str


@pytest.fixture(scope="module")
def scratch(cluster_url: str, worker_id: str) -> Iterator[Scratch]:
    name = f"hisaab_worker_killed_{worker_id}_{os.getpid()}"
    owner_url, app_url = migrated_database(cluster_url, name)
    database = Database.connect(app_url, pool_size=2)
    try:
        with TestClient(
            create_app(database, ADMIN_TOKEN), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ) as operator:
            created = operator.post("/v1/tenants", json=INDIAN_TENANT)
        assert created.status_code == 201, created.text
        yield Scratch(owner_url, app_url, database, created.json()["tenant"]["id"])
    finally:
        database.dispose()
        drop_database(cluster_url, name)


@pytest.fixture
def inbox() -> Iterator[HeldInbox]:
    held = HeldInbox()
    controller, port = start_server(held)
    held.url = f"smtp://127.0.0.1:{port}"
    try:
        yield held
    finally:
        held.go_on.set()
        controller.stop()


@pytest.fixture
def fast_recovery(monkeypatch: pytest.MonkeyPatch) -> None:
    """The recovery run from this process calls a worker dead as the test's workers expect."""
    monkeypatch.setattr(recovery, "STALLED_AFTER_SECONDS", HEARTBEAT.stalled_after)


def _worker(scratch: Scratch, inbox: HeldInbox, data_dir: Path) -> subprocess.Popen[bytes]:
    return start_worker(
        scratch.owner_url,
        [mail.QUEUE],
        data_dir,
        secret_key=SECRET_KEY,
        concurrency=2,
        env={"HISAAB_SMTP_URL": inbox.url},
        heartbeat=HEARTBEAT,
    )


def _email(scratch: Scratch) -> tuple[str, str]:
    """An email recorded as the invoicing domain records one, with its `send_mail` job; the
    message's id and its address."""
    address = unique_email()
    draft = invoice_draft(address)
    with scratch.database.transaction(scratch.tenant_id) as session:
        message_id = mail.submit(session, scratch.tenant_id, draft, SYSTEM_CLOCK.now())
    assert message_id is not None
    return message_id, address


def _job(scratch: Scratch, message_id: str) -> Any:
    """The message's `send_mail` job: status, attempts, worker."""
    with scratch.database.transaction(None) as session:
        return session.execute(
            text(
                "SELECT status, attempts, worker_id FROM procrastinate_jobs "
                "WHERE task_name = 'send_mail' AND args->>'message_id' = :m"
            ),
            {"m": message_id},
        ).one()


def _message_status(scratch: Scratch, message_id: str) -> str:
    with scratch.database.transaction(scratch.tenant_id) as session:
        return str(
            session.execute(
                text("SELECT status FROM mail_messages WHERE id = :id"), {"id": message_id}
            ).scalar_one()
        )


def _wait(condition: Any, what: str, workers: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        for worker in workers:
            assert worker.poll() is None, f"worker {worker.pid} exited with {worker.returncode}"
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.05)


def _killed_mid_send(
    scratch: Scratch, inbox: HeldInbox, data_dir: Path, message_id: str
) -> subprocess.Popen[bytes]:
    """A worker that took the message's job and is talking to the server, SIGKILLed; the
    server then lets the dead session go (it receives nothing from it)."""
    victim = _worker(scratch, inbox, data_dir)
    try:
        _wait(inbox.reached.is_set, "the worker to reach RCPT TO", [victim])
        assert _job(scratch, message_id).status == "doing"
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait()
    inbox.go_on.set()
    return victim


def test_a_job_of_a_killed_worker_is_retried_and_done(
    scratch: Scratch, inbox: HeldInbox, fast_recovery: None, tmp_path: Path
) -> None:
    message_id, address = _email(scratch)
    _killed_mid_send(scratch, inbox, tmp_path / "victim", message_id)
    time.sleep(HEARTBEAT.stalled_after)  # the dead worker's last heartbeat grows old
    assert _job(scratch, message_id).status == "doing", "nothing but recovery takes it back"

    # Recovery first: a job put back waits for a worker's next poll (5 s), not a notification,
    # and a worker starting takes it at once. The other order works too, a poll later.
    run_recovery(scratch.app_url)
    successor = _worker(scratch, inbox, tmp_path / "successor")
    try:
        _wait(lambda: _job(scratch, message_id).status == "succeeded", "the job", [successor])
    finally:
        inbox.go_on.set()  # a failed test's worker may still be waiting on the server
        stop_workers([successor])
    assert _message_status(scratch, message_id) == "sent"
    assert len(inbox.to(address)) == 1, "the killed session delivered nothing; the rerun did"


def test_a_live_workers_job_is_not_retried(
    scratch: Scratch, inbox: HeldInbox, fast_recovery: None, tmp_path: Path
) -> None:
    """Held at the server for several times the threshold, the job of a worker that beats
    stays with it; meanwhile the job of a killed worker does go back."""
    orphan_id, _ = _email(scratch)
    _killed_mid_send(scratch, inbox, tmp_path / "victim", orphan_id)
    inbox.reached.clear()
    inbox.go_on.clear()

    message_id, address = _email(scratch)
    alive = _worker(scratch, inbox, tmp_path / "alive")
    try:
        _wait(inbox.reached.is_set, "the live worker to reach RCPT TO", [alive])
        held_by = _job(scratch, message_id).worker_id
        time.sleep(2 * HEARTBEAT.stalled_after)  # the job runs far longer than the threshold
        run_recovery(scratch.app_url)
        assert tuple(_job(scratch, message_id)) == ("doing", 0, held_by), "left to its worker"
        # Put back (retrying counts an attempt); the live worker may have taken it already.
        assert _job(scratch, orphan_id).attempts == 1, "the killed worker's job went back"

        inbox.go_on.set()
        _wait(lambda: _job(scratch, message_id).status == "succeeded", "the job", [alive])
    finally:
        inbox.go_on.set()
        stop_workers([alive])
    assert len(inbox.to(address)) == 1, "sent once: no second copy of the job ran"
