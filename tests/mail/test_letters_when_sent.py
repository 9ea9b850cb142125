"""Invoice, receipt and credit-note emails are written by the send job, not by the transaction
that finalizes, pays or credits: the event only records that a letter is due, and the words come
out exactly as the event would have written them, whatever changed in between."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from hisaab.billing import service as billing_runs
from hisaab.core import bulk
from hisaab.core.clock import SYSTEM_CLOCK
from hisaab.db import Database
from hisaab.invoicing import notifications
from hisaab.jobs import tasks as _tasks  # noqa: F401 - registers the due work with the scheduler
from hisaab.mail import letters
from hisaab.mail import service as mail
from hisaab.mail.models import MailMessage
from hisaab.mail.transport import DeliveryError
from hisaab.tenants import service as tenants
from hisaab.webhooks import service as events
from hisaab.webhooks.service import EventRecord
from tests import seeding
from tests.conftest import ADMIN_TOKEN, TestDatabase
from tests.databases import owner_connection
from tests.e2e.billing import Billing
from tests.mail.conftest import (
    SmtpServer,
    bodies,
    issued_invoice,
    make_job_due,
    messages_of,
    retry_an_hour_later,
    send_jobs_of,
    smtp_down,
    unique_email,
    use_smtp,
)

EVENT_KINDS = {
    "invoice.finalized": "invoice",
    "invoice.paid": "receipt",
    "credit_note.created": "credit_note",
}


def _numbered(content: mail.Content, invoice: dict[str, Any]) -> mail.Content:
    """The words as written in the transaction that issued the invoice: a batch, which names
    its invoices by a stand-in until it numbers them as it ends (`bulk.stand_in`)."""

    def named(text: str) -> str:
        return text.replace(bulk.stand_in(invoice["id"]), invoice["number"])

    return mail.Content(named(content.subject), named(content.text_body), named(content.html_body))


def _sent_bodies(message: Any) -> tuple[str, ...]:
    """Text and HTML as written: SMTP carried them with CRLF line ends."""
    return tuple(body.replace("\r\n", "\n") for body in bodies(message))


@pytest.fixture
def written_then() -> Iterator[dict[tuple[str, str], mail.Content]]:
    """What each letter said when written inside the emitting transaction, as the handlers did
    before letters moved to the send job: the reference the sent words must equal."""
    written: dict[tuple[str, str], mail.Content] = {}

    def write_then(session: Session, event: EventRecord) -> None:
        kind = EVENT_KINDS[event.type]
        document: dict[str, Any] = event.data["object"]
        customer: dict[str, Any] = document.get("customer") or {}
        writer = letters.Letter.to(
            notifications.TEXTS,
            tenants.get_tenant(session, event.tenant_id),
            customer.get("locale"),
            customer.get("email"),
            customer.get("name"),
        )
        subject, lines = notifications.LETTERS[kind](writer, document)
        written[(event.id, kind)] = writer.content(subject, lines)

    for event_type in EVENT_KINDS:
        events.subscribe(event_type, write_then)
    try:
        yield written
    finally:
        for event_type in EVENT_KINDS:
            events.unsubscribe(event_type, write_then)


def test_the_event_records_the_letter_and_the_send_job_writes_it(
    mailing: SmtpServer, billing: Billing, database: Database
) -> None:
    address = unique_email()
    invoice = issued_invoice(billing, address)

    [due] = messages_of(database, billing.tenant.id, invoice["id"])
    assert (due.kind, due.status, due.attempts) == ("invoice", "queued", 0)
    assert (due.subject, due.text_body, due.html_body) == (None, None, None)
    assert (due.to_address, due.to_name, due.locale) == (address, "Asha Rao", "en")
    assert (due.from_name, due.reply_to) == ("Acme Learning Pvt Ltd", "billing@acme.test")
    assert due.timezone == "Asia/Kolkata"
    assert due.attachments == [{"type": notifications.INVOICE_PDF, "id": invoice["id"]}]
    assert len(send_jobs_of(database, due.id)) == 1

    billing.run_jobs()
    [message] = mailing.inbox.to(address)
    [sent] = messages_of(database, billing.tenant.id, invoice["id"])
    assert sent.status == "sent"
    assert sent.subject == message["Subject"]
    assert (sent.text_body, sent.html_body) == _sent_bodies(message)


@pytest.mark.parametrize("locale", ["en-IN", "hi", "de-DE", "fr", "ja"])
def test_the_words_are_those_the_event_would_have_written(
    mailing: SmtpServer,
    billing: Billing,
    database: Database,
    written_then: dict[tuple[str, str], mail.Content],
    locale: str,
) -> None:
    """An invoice with a due date, its receipt and a credit note, in each language; the tenant
    renames itself, changes its address and moves to another timezone before the job runs,
    and the letters still say what they would have said when their events happened."""
    address = unique_email()
    invoice = issued_invoice(billing, address, locale=locale)
    billing.post(f"/v1/invoices/{invoice['id']}/pay", {"paid_out_of_band": True})
    note = billing.post(
        "/v1/credit_notes",
        {"invoice_id": invoice["id"], "amount": 50000, "reason": "order_change"},
        201,
    )
    response = billing.tenant.http.patch(
        "/v1/tenant",
        json={"name": "Renamed Ltd", "email": "new@acme.test", "timezone": "Pacific/Kiritimati"},
    )
    assert response.status_code == 200, response.text
    billing.run_jobs()

    records = [
        *messages_of(database, billing.tenant.id, invoice["id"]),
        *messages_of(database, billing.tenant.id, note["id"]),
    ]
    assert sorted(r.kind for r in records) == ["credit_note", "invoice", "receipt"]
    received = {m["Subject"]: m for m in mailing.inbox.to(address)}
    assert len(received) == 3
    for record in records:
        expected = _numbered(written_then[(record.event_id, record.kind)], invoice)
        assert record.status == "sent"
        assert (record.subject, record.text_body, record.html_body) == (
            expected.subject,
            expected.text_body,
            expected.html_body,
        )
        message = received[expected.subject]
        assert _sent_bodies(message) == (expected.text_body, expected.html_body)
        assert message["From"].addresses[0].display_name == "Acme Learning Pvt Ltd"
        assert message["Reply-To"].addresses[0].addr_spec == "billing@acme.test"


def test_a_letter_that_fails_to_render_fails_only_its_mail_job(
    mailing: SmtpServer, billing: Billing, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The invoice is finalized all the same; the job is retried as a refused connection is,
    and once the renderer works the customer gets the letter."""
    retry_an_hour_later(monkeypatch)

    def broken(session: Session, message: MailMessage, event: EventRecord) -> mail.Content:
        raise ValueError("a bug in the template")

    mail.register_letter("invoice", broken)
    address = unique_email()
    invoice = issued_invoice(billing, address)
    billing.run_jobs()

    assert mailing.inbox.to(address) == []
    [record] = messages_of(database, billing.tenant.id, invoice["id"])
    assert (record.status, record.attempts, record.subject) == ("failed", 1, None)
    assert record.last_error == "ValueError: a bug in the template"
    [job] = send_jobs_of(database, record.id)
    assert (job["status"], job["attempts"]) == ("todo", 1)
    assert job["scheduled_at"] > SYSTEM_CLOCK.now() + timedelta(minutes=30)

    notifications.install()  # the fix is deployed
    make_job_due(database, job["id"])
    billing.run_jobs()
    [message] = mailing.inbox.to(address)
    assert message["Subject"] == f"Invoice {invoice['number']} from Acme Learning Pvt Ltd"
    [record] = messages_of(database, billing.tenant.id, invoice["id"])
    assert (record.status, record.attempts, record.last_error) == ("sent", 2, None)


def test_a_retry_sends_the_words_of_the_first_attempt(
    mailing: SmtpServer, billing: Billing, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp_down(monkeypatch)
    address = unique_email()
    invoice = issued_invoice(billing, address)
    billing.run_jobs()
    [record] = messages_of(database, billing.tenant.id, invoice["id"])
    assert record.status == "failed"
    first = (record.subject, record.text_body, record.html_body)
    assert first[0] == f"Invoice {invoice['number']} from Acme Learning Pvt Ltd"

    def other(session: Session, message: MailMessage, event: EventRecord) -> mail.Content:
        return mail.Content("other words", "other", "<p>other</p>")

    mail.register_letter("invoice", other)
    use_smtp(mailing.url)
    [job] = send_jobs_of(database, record.id)
    make_job_due(database, job["id"])
    billing.run_jobs()
    [message] = mailing.inbox.to(address)
    assert (message["Subject"], *_sent_bodies(message)) == first


def test_a_letter_whose_event_is_gone_is_not_retried(
    mailing: SmtpServer, billing: Billing, database: Database
) -> None:
    invoice = issued_invoice(billing, unique_email())
    [record] = messages_of(database, billing.tenant.id, invoice["id"])
    with database.transaction(billing.tenant.id) as session:
        session.execute(
            text("UPDATE mail_messages SET event_id = 'evt_pruned' WHERE id = :id"),
            {"id": record.id},
        )
    mail.deliver(database, billing.tenant.id, record.id)  # permanent: no DeliveryError raised
    [record] = messages_of(database, billing.tenant.id, invoice["id"])
    assert record.status == "failed"
    assert record.last_error is not None
    assert "evt_pruned" in record.last_error


@pytest.fixture
def letters_that_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A worker's mail wiring, with every invoicing letter broken: rendering one raises."""

    def broken(writer: letters.Letter, document: dict[str, Any]) -> tuple[str, list[str]]:
        raise RuntimeError("letter rendered")

    for kind in notifications.LETTERS:
        monkeypatch.setitem(notifications.LETTERS, kind, broken)
    mail.configure(mail.mailer_from_settings(None, "billing@example.test", tmp_path))
    notifications.install()
    try:
        yield
    finally:
        notifications.uninstall()
        mail.configure(None)


def test_a_billing_run_writes_no_letter(
    app: Any, database: Database, test_db: TestDatabase, letters_that_fail: None
) -> None:
    (tenant,) = seeding.seed_tenants(app, ADMIN_TOKEN, 1)
    due = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    seeding.seed_subscriptions(test_db.owner_url, tenant.id, 20, due_at=due)
    assert billing_runs.run_batch(database, tenant.id) == 20

    with owner_connection(test_db.owner_url) as conn:
        rows = conn.execute(
            text(
                "SELECT id, kind, status, subject, text_body, html_body FROM mail_messages "
                "WHERE tenant_id = :t AND kind IN ('invoice', 'receipt', 'credit_note')"
            ),
            {"t": tenant.id},
        ).all()
    assert sum(1 for row in rows if row.kind == "invoice") == 20
    assert {(r.status, r.subject, r.text_body, r.html_body) for r in rows} == {
        ("queued", None, None, None)
    }
    # The broken letter fails its own send job, which the queue will retry.
    with pytest.raises(DeliveryError, match="letter rendered"):
        mail.deliver(database, tenant.id, rows[0].id)
