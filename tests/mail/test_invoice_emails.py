"""Invoices, receipts and their PDFs reach the customer's mailbox on a real SMTP server, once."""

from __future__ import annotations

import email
import io
import threading
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import text

from hisaab.core.clock import SYSTEM_CLOCK
from hisaab.core.ids import new_id
from hisaab.core.pagination import PageRequest
from hisaab.db import Database
from hisaab.mail import service as mail
from hisaab.mail.transport import DirectoryTransport
from hisaab.webhooks import service as events
from hisaab.webhooks.models import Event
from tests.e2e.billing import Billing
from tests.mail.conftest import (
    SENDER,
    SmtpServer,
    bodies,
    issued_invoice,
    messages_of,
    send_jobs_of,
    smtp_down,
    unique_email,
    use_smtp,
)

SELLER = "Acme Learning Pvt Ltd"


def _pdf(message: EmailMessage, filename: str) -> bytes:
    """The one attachment: a PDF named after the document, that a PDF reader opens."""
    [attachment] = list(message.iter_attachments())
    assert isinstance(attachment, EmailMessage)
    assert attachment.get_content_type() == "application/pdf"
    content = attachment.get_content()
    assert isinstance(content, bytes)
    assert content.startswith(b"%PDF")
    assert attachment.get_filename() == filename
    assert len(PdfReader(io.BytesIO(content)).pages) >= 1
    return content


def test_a_finalized_invoice_is_mailed_with_its_pdf(
    mailing: SmtpServer, billing: Billing, database: Database
) -> None:
    address = unique_email()
    invoice = issued_invoice(billing, address)
    billing.run_jobs()

    [message] = mailing.inbox.to(address)
    number = invoice["number"]
    assert message["Subject"] == f"Invoice {number} from {SELLER}"
    assert message["From"].addresses[0].display_name == SELLER
    assert message["From"].addresses[0].addr_spec == SENDER
    assert message["Reply-To"].addresses[0].addr_spec == "billing@acme.test"
    assert message["To"].addresses[0].display_name == "Asha Rao"
    assert message["Auto-Submitted"] == "auto-generated"
    plain, rich = bodies(message)
    assert "Hello Asha Rao," in plain
    assert number in plain
    assert "₹2,000.00" in plain
    assert "payable by" in plain
    assert "reply to this email" in plain
    assert rich.startswith("<!DOCTYPE html>")
    assert f"invoice {number} for ₹2,000.00" in rich
    pdf = _pdf(message, f"{number.replace('/', '-')}.pdf")
    assert number in (PdfReader(io.BytesIO(pdf)).pages[0].extract_text() or "")

    [record] = messages_of(database, billing.tenant.id, invoice["id"])
    assert (record.kind, record.status, record.attempts) == ("invoice", "sent", 1)
    assert record.to_address == address
    assert record.sent_at is not None
    assert record.last_error is None
    assert record.message_id == message["Message-ID"] == f"<{record.id}@hisaab.test>"


def test_a_receipt_follows_an_out_of_band_payment(
    mailing: SmtpServer, billing: Billing, database: Database
) -> None:
    address = unique_email()
    invoice = issued_invoice(billing, address)
    paid = billing.post(f"/v1/invoices/{invoice['id']}/pay", {"paid_out_of_band": True})
    assert paid["status"] == "paid"
    billing.run_jobs()

    invoice_mail, receipt = mailing.inbox.to(address)
    number = invoice["number"]
    assert invoice_mail["Subject"] == f"Invoice {number} from {SELLER}"
    assert receipt["Subject"] == f"Receipt for invoice {number} from {SELLER}"
    plain, _ = bodies(receipt)
    assert "We have received your payment of ₹2,000.00" in plain
    _pdf(receipt, f"{number.replace('/', '-')}.pdf")
    kinds = {(m.kind, m.status) for m in messages_of(database, billing.tenant.id, invoice["id"])}
    assert kinds == {("invoice", "sent"), ("receipt", "sent")}


def test_a_job_run_twice_or_a_replayed_event_mails_once(
    mailing: SmtpServer, billing: Billing, database: Database
) -> None:
    address = unique_email()
    invoice = issued_invoice(billing, address)
    [record] = messages_of(database, billing.tenant.id, invoice["id"])

    # Two workers on the same message at once, against a slow server: the row lock makes the
    # second wait, then find it sent.
    mailing.inbox.delay = 0.3
    runs = [
        threading.Thread(target=mail.deliver, args=(database, billing.tenant.id, record.id))
        for _ in range(2)
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    mailing.inbox.delay = 0
    billing.run_jobs()  # the queued job itself, a third run
    mail.deliver(database, billing.tenant.id, record.id)  # and a fourth
    with database.transaction(billing.tenant.id) as session:
        page = events.list_events(
            session, PageRequest(limit=10), "invoice.finalized", invoice["id"]
        )
        [event] = page.items
        events.dispatch(session, event)  # a replayed event
    billing.run_jobs()

    assert len(mailing.inbox.to(address)) == 1
    [record] = messages_of(database, billing.tenant.id, invoice["id"])
    assert (record.status, record.attempts) == ("sent", 1)
    assert len(send_jobs_of(database, record.id)) == 1


def test_smtp_down_is_recorded_and_retried(
    mailing: SmtpServer, billing: Billing, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp_down(monkeypatch)
    address = unique_email()
    invoice = issued_invoice(billing, address)
    billing.run_jobs()

    [record] = messages_of(database, billing.tenant.id, invoice["id"])
    assert (record.status, record.attempts, record.sent_at) == ("failed", 1, None)
    assert record.last_error is not None
    assert "refused" in record.last_error.lower()
    [job] = send_jobs_of(database, record.id)
    assert job["status"] == "todo"
    assert job["attempts"] == 1
    assert job["scheduled_at"] > SYSTEM_CLOCK.now() + timedelta(minutes=30)

    use_smtp(mailing.url)  # the server is back; the retry comes due
    with database.transaction(None) as session:
        session.execute(
            text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE id = :id"),
            {"id": job["id"]},
        )
    billing.run_jobs()
    assert len(mailing.inbox.to(address)) == 1
    [record] = messages_of(database, billing.tenant.id, invoice["id"])
    assert (record.status, record.attempts, record.last_error) == ("sent", 2, None)
    assert send_jobs_of(database, record.id)[0]["status"] == "succeeded"


def test_a_mailbox_that_does_not_exist_is_not_retried(
    mailing: SmtpServer, billing: Billing, database: Database
) -> None:
    address = unique_email()
    mailing.inbox.refuse[address] = "550 5.1.1 No such user"
    invoice = issued_invoice(billing, address)
    billing.run_jobs()

    [record] = messages_of(database, billing.tenant.id, invoice["id"])
    assert record.status == "failed"
    assert record.last_error is not None
    assert "550 5.1.1 No such user" in record.last_error
    assert send_jobs_of(database, record.id)[0]["status"] == "succeeded"


def test_without_smtp_the_email_is_an_eml_file(
    mailing: SmtpServer, billing: Billing, database: Database, tmp_path: Any
) -> None:
    mail.configure(mail.mailer_from_settings(None, SENDER, tmp_path))
    invoice = issued_invoice(billing, unique_email())
    billing.run_jobs()

    [record] = messages_of(database, billing.tenant.id, invoice["id"])
    assert record.status == "sent"
    path = tmp_path / "outbox" / f"{record.id}.eml"
    parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Subject"] == f"Invoice {invoice['number']} from {SELLER}"
    _pdf(parsed, f"{invoice['number'].replace('/', '-')}.pdf")
    assert isinstance(mail.mailer().transport, DirectoryTransport)


def test_a_customer_without_an_email_address_is_skipped(
    mailing: SmtpServer, billing: Billing, database: Database
) -> None:
    invoice = issued_invoice(billing, unique_email())
    billing.run_jobs()
    # Customers must have an address today; an older snapshot (or an optional address later)
    # may not. The event is replayed as if its customer had none.
    invoice["customer"]["email"] = None
    event = Event(
        tenant_id=billing.tenant.id,
        id=new_id("evt"),
        type="invoice.finalized",
        object_id=invoice["id"],
        data={"object": invoice},
        created_at=SYSTEM_CLOCK.now(),
    )
    with database.transaction(billing.tenant.id) as session:
        events.dispatch(session, event)
    billing.run_jobs()

    skipped = [
        m for m in messages_of(database, billing.tenant.id, invoice["id"]) if m.event_id == event.id
    ]
    [record] = skipped
    assert (record.status, record.to_address, record.attempts) == ("skipped", None, 0)
    assert record.last_error == "the customer has no email address"
    assert send_jobs_of(database, record.id) == []


@pytest.mark.parametrize(
    ("locale", "subject", "phrase"),
    [
        ("hi", "{seller} का इनवॉइस {number}", "इनवॉइस {number} संलग्न है, कुल राशि ₹2,000.00।"),
        ("de-DE", "Rechnung {number} von {seller}", "Guten Tag Asha Rao,"),
        ("fr", "Facture {number} de {seller}", "Bonjour Asha Rao,"),
        ("ja", "Invoice {number} from {seller}", "Hello Asha Rao,"),
    ],
    ids=["hi", "de", "fr", "ja-falls-back-to-en"],
)
def test_the_customers_language(
    mailing: SmtpServer, billing: Billing, locale: str, subject: str, phrase: str
) -> None:
    address = unique_email()
    invoice = issued_invoice(billing, address, locale=locale)
    billing.run_jobs()
    [message] = mailing.inbox.to(address)
    values = {"seller": SELLER, "number": invoice["number"]}
    assert message["Subject"] == subject.format(**values)
    plain, _ = bodies(message)
    assert phrase.format(**values) in plain


def test_an_invoice_with_nothing_to_bill_is_not_mailed(
    mailing: SmtpServer, billing: Billing, database: Database
) -> None:
    coupon = billing.post(
        "/v1/coupons",
        {"code": f"FREE{new_id('evt')[-6:].upper()}", "percent_off": 100, "duration": "forever"},
        201,
    )
    address = unique_email()
    customer_id = billing.customer(None, email=address)
    subscription = billing.subscribe(customer_id, billing.plan("pro", 200000), coupon=coupon["id"])
    [invoice] = billing.invoices(subscription["id"])
    assert (invoice["total"], invoice["status"]) == (0, "paid")
    billing.run_jobs()
    assert mailing.inbox.to(address) == []
    assert messages_of(database, billing.tenant.id, invoice["id"]) == []


def test_a_credit_note_is_mailed_with_its_pdf(
    mailing: SmtpServer, billing: Billing, database: Database
) -> None:
    address = unique_email()
    invoice = issued_invoice(billing, address)
    note = billing.post(
        "/v1/credit_notes",
        {"invoice_id": invoice["id"], "amount": 50000, "reason": "order_change"},
        201,
    )
    billing.run_jobs()

    _, credit_mail = mailing.inbox.to(address)
    assert credit_mail["Subject"] == f"Credit note {note['number']} from {SELLER}"
    plain, _ = bodies(credit_mail)
    assert f"credit note {note['number']} for ₹500.00" in plain
    assert f"₹500.00 has been taken off what invoice {invoice['number']} still owed." in plain
    _pdf(credit_mail, f"{note['number'].replace('/', '-')}.pdf")
    [record] = messages_of(database, billing.tenant.id, note["id"])
    assert (record.kind, record.status) == ("credit_note", "sent")
