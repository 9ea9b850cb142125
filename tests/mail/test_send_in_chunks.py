"""A billing run's emails go a chunk of messages per job, not a job per message (issue 6): each
job costs PostgreSQL more than the rest of a message. Sending stays once per message, and a
message that fails goes on alone, on the single-message job's retry schedule."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import text

from hisaab.billing import service as billing_runs
from hisaab.core import bulk
from hisaab.core.clock import SYSTEM_CLOCK
from hisaab.db import Database
from hisaab.invoicing import notifications
from hisaab.jobs import tasks
from hisaab.mail import repository
from hisaab.mail import service as mail
from hisaab.mail.models import MailMessage
from hisaab.mail.transport import DeliveryError
from tests import seeding
from tests.conftest import ADMIN_TOKEN, TenantHandle, TestDatabase
from tests.mail.conftest import (
    SENDER,
    invoice_draft,
    make_job_due,
    retry_an_hour_later,
    unique_email,
)


@dataclass
class Outbox:
    """A transport that keeps what it is given, and refuses the addresses in `refuse`."""

    sent: list[EmailMessage] = field(default_factory=list)
    refuse: dict[str, DeliveryError] = field(default_factory=dict)

    def send(self, message: EmailMessage) -> None:
        address = message["To"].addresses[0].addr_spec
        if address in self.refuse:
            raise self.refuse[address]
        self.sent.append(message)

    def describe(self) -> str:
        return "a list in the test"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.sent if m["To"].addresses[0].addr_spec == address]


@pytest.fixture
def outbox(database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Outbox]:
    retry_an_hour_later(monkeypatch)
    kept = Outbox()
    mail.configure(mail.Mailer(kept, SENDER))
    try:
        yield kept
    finally:
        mail.configure(None)


def _submit(database: Database, tenant_id: str, addresses: list[str], *, batch: bool) -> list[str]:
    """The messages' ids, submitted in one transaction, as a billing run (in a bulk batch) or
    as requests do."""
    ids = []
    with (
        database.transaction(tenant_id) as session,
        bulk.batch(session) if batch else nullcontext(),
    ):
        for address in addresses:
            message_id = mail.submit(session, tenant_id, invoice_draft(address), SYSTEM_CLOCK.now())
            assert message_id is not None
            ids.append(message_id)
    return ids


def _jobs(database: Database, tenant_id: str, task: str) -> list[dict[str, Any]]:
    with database.transaction(None) as session:
        rows = session.execute(
            text(
                "SELECT id, status, attempts, scheduled_at, args FROM procrastinate_jobs "
                "WHERE task_name = :task AND args->>'tenant_id' = :tenant ORDER BY id"
            ),
            {"task": task, "tenant": tenant_id},
        )
        return [dict(row._mapping) for row in rows]


def _records(database: Database, tenant_id: str, ids: list[str]) -> dict[str, MailMessage]:
    with database.transaction(tenant_id) as session:
        return {m.id: m for m in (repository.lock(session, tenant_id, i) for i in ids) if m}


def test_a_batch_queues_a_job_per_chunk_and_a_request_one_per_message(
    outbox: Outbox, tenant: TenantHandle, database: Database
) -> None:
    count = 2 * mail.CHUNK + 1
    batched = _submit(database, tenant.id, [unique_email() for _ in range(count)], batch=True)

    chunks = _jobs(database, tenant.id, mail.SEND_MANY_TASK)
    assert len(chunks) == math.ceil(count / mail.CHUNK) == 3
    assert _jobs(database, tenant.id, mail.SEND_TASK) == []
    assert [len(job["args"]["message_ids"]) for job in chunks] == [34, 34, 33]
    assert [i for job in chunks for i in job["args"]["message_ids"]] == batched
    assert {job["status"] for job in chunks} == {"todo"}

    single = _submit(database, tenant.id, [unique_email() for _ in range(3)], batch=False)
    assert len(_jobs(database, tenant.id, mail.SEND_MANY_TASK)) == 3
    singles = _jobs(database, tenant.id, mail.SEND_TASK)
    assert [job["args"]["message_id"] for job in singles] == single


def test_a_batch_that_mails_once_queues_the_single_message_job(
    outbox: Outbox, tenant: TenantHandle, database: Database
) -> None:
    [message_id] = _submit(database, tenant.id, [unique_email()], batch=True)
    assert _jobs(database, tenant.id, mail.SEND_MANY_TASK) == []
    [job] = _jobs(database, tenant.id, mail.SEND_TASK)
    assert job["args"]["message_id"] == message_id


def test_a_billing_run_queues_its_invoice_emails_in_chunks(
    app: Any, database: Database, test_db: TestDatabase, tmp_path: Any
) -> None:
    mail.configure(mail.mailer_from_settings(None, SENDER, tmp_path))
    notifications.install()
    try:
        (tenant,) = seeding.seed_tenants(app, ADMIN_TOKEN, 1)
        due = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
        count = mail.CHUNK + 10
        seeding.seed_subscriptions(test_db.owner_url, tenant.id, count, due_at=due)
        assert billing_runs.run_batch(database, tenant.id) == count
    finally:
        notifications.uninstall()
        mail.configure(None)

    with database.transaction(tenant.id) as session:
        queued = set(
            session.scalars(text("SELECT id FROM mail_messages WHERE status = 'queued'")).all()
        )
    assert len(queued) >= count
    chunks = _jobs(database, tenant.id, mail.SEND_MANY_TASK)
    in_jobs = [i for job in chunks for i in job["args"]["message_ids"]]
    assert sorted(in_jobs) == sorted(queued)
    assert all(len(job["args"]["message_ids"]) <= mail.CHUNK for job in chunks)
    assert len(chunks) < len(queued) / 10
    assert _jobs(database, tenant.id, mail.SEND_TASK) == []


def test_a_chunk_sends_each_message_once_however_often_it_runs(
    outbox: Outbox, tenant: TenantHandle, database: Database, run_jobs: Any
) -> None:
    addresses = [unique_email() for _ in range(5)]
    ids = _submit(database, tenant.id, addresses, batch=True)
    run_jobs()

    assert all(len(outbox.to(address)) == 1 for address in addresses)
    [job] = _jobs(database, tenant.id, mail.SEND_MANY_TASK)
    assert (job["status"], job["attempts"]) == ("succeeded", 1)
    records = _records(database, tenant.id, ids)
    assert {(m.status, m.attempts) for m in records.values()} == {("sent", 1)}

    tasks.send_mails(tenant.id, ids)  # the job again, as after a crash
    assert all(len(outbox.to(address)) == 1 for address in addresses)
    assert {(m.status, m.attempts) for m in _records(database, tenant.id, ids).values()} == {
        ("sent", 1)
    }


def test_a_chunk_that_crashes_half_way_sends_the_rest_on_its_retry(
    outbox: Outbox, tenant: TenantHandle, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    addresses = [unique_email() for _ in range(4)]
    ids = _submit(database, tenant.id, addresses, batch=True)
    lock = repository.lock

    def lost_connection(session: Any, tenant_id: str, message_id: str) -> MailMessage | None:
        if message_id == ids[1]:
            raise ConnectionError("server closed the connection unexpectedly")
        return lock(session, tenant_id, message_id)

    monkeypatch.setattr(repository, "lock", lost_connection)
    with pytest.raises(ConnectionError):
        tasks.send_mails(tenant.id, ids)
    # The others were sent all the same; the job fails, for the queue to retry.
    assert [len(outbox.to(a)) for a in addresses] == [1, 0, 1, 1]

    monkeypatch.setattr(repository, "lock", lock)
    tasks.send_mails(tenant.id, ids)  # the retry
    assert [len(outbox.to(a)) for a in addresses] == [1, 1, 1, 1]
    records = _records(database, tenant.id, ids)
    assert {(m.status, m.attempts) for m in records.values()} == {("sent", 1)}
    assert _jobs(database, tenant.id, mail.SEND_TASK) == []


def test_a_failed_message_goes_on_in_its_own_job_and_the_others_are_sent(
    outbox: Outbox, tenant: TenantHandle, database: Database, run_jobs: Any
) -> None:
    busy, gone, *fine = addresses = [unique_email() for _ in range(5)]
    outbox.refuse[busy] = DeliveryError("421 4.7.0 Try again later")
    outbox.refuse[gone] = DeliveryError("550 5.1.1 No such user", permanent=True)
    ids = _submit(database, tenant.id, addresses, batch=True)
    run_jobs()

    assert all(len(outbox.to(address)) == 1 for address in fine)
    [chunk] = _jobs(database, tenant.id, mail.SEND_MANY_TASK)
    assert (chunk["status"], chunk["attempts"]) == ("succeeded", 1)  # not retried
    records = _records(database, tenant.id, ids)
    assert (records[ids[0]].status, records[ids[0]].attempts) == ("failed", 1)
    assert records[ids[0]].last_error == "421 4.7.0 Try again later"
    assert (records[ids[1]].status, records[ids[1]].attempts) == ("failed", 1)
    assert records[ids[1]].last_error == "550 5.1.1 No such user"
    assert {(records[i].status, records[i].attempts) for i in ids[2:]} == {("sent", 1)}

    # The retryable one, and only it, waits in a job of its own: the single-message job's
    # first wait (exponential_wait ** 1 = an hour here), not later ones.
    [retry] = _jobs(database, tenant.id, mail.SEND_TASK)
    assert retry["args"] == {"tenant_id": tenant.id, "message_id": ids[0]}
    assert (retry["status"], retry["attempts"]) == ("todo", 0)
    now = SYSTEM_CLOCK.now()
    assert now + timedelta(minutes=50) < retry["scheduled_at"] < now + timedelta(minutes=70)

    tasks.send_mails(tenant.id, ids)  # a rerun of the chunk leaves both failures alone
    assert len(_jobs(database, tenant.id, mail.SEND_TASK)) == 1
    assert outbox.to(busy) == outbox.to(gone) == []

    outbox.refuse.clear()  # the server takes mail again; the retry comes due
    make_job_due(database, retry["id"])
    run_jobs()
    assert len(outbox.to(busy)) == 1
    assert outbox.to(gone) == []
    records = _records(database, tenant.id, ids)
    assert (records[ids[0]].status, records[ids[0]].attempts) == ("sent", 2)
    assert records[ids[1]].status == "failed"
