"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, and the mail wiring of
`hisaab up` pointed at it."""

from __future__ import annotations

import email
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import text

from hisaab.core.ids import new_id
from hisaab.db import Database
from hisaab.invoicing import notifications
from hisaab.mail import service as mail
from hisaab.mail.config import parse_smtp_url
from hisaab.mail.models import MailMessage
from hisaab.mail.transport import SmtpTransport
from tests.conftest import TenantHandle
from tests.e2e.billing import Billing
from tests.ports import free_port

SENDER = "billing@hisaab.test"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Inbox:
    """What the server accepted; `refuse` maps a recipient to the reply that refuses it."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay:
            time.sleep(self.delay)  # blocks the server thread: a slow server, on purpose
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        parsed = email.message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [r.message for r in self.received if address in r.rcpt_tos]


@dataclass
class SmtpServer:
    inbox: Inbox
    port: int

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


def start_server(inbox: Inbox, **kwargs: Any) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, port


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    inbox = Inbox()
    controller, port = start_server(inbox)
    try:
        yield SmtpServer(inbox, port)
    finally:
        controller.stop()


@pytest.fixture
def mailing(database: Any, smtp_server: SmtpServer) -> Iterator[SmtpServer]:
    """What `hisaab up` wires: notifications subscribed, mail sent to the loopback server."""
    notifications.install()
    use_smtp(smtp_server.url)
    try:
        yield smtp_server
    finally:
        notifications.uninstall()
        mail.configure(None)


def use_smtp(url: str) -> None:
    mail.configure(mail.Mailer(SmtpTransport(parse_smtp_url(url)), SENDER))


def retry_an_hour_later(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed send's retry an hour away, not 5 s: `run_jobs` also runs the scheduler tick's
    billing jobs (one per tenant of the test database), which on a slow machine outlast 5 s,
    and the retry would then come due and run within the same call."""
    monkeypatch.setattr(mail.RETRY, "exponential_wait", 3600)


def smtp_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mail goes to a port nobody listens on; its retry is an hour away."""
    retry_an_hour_later(monkeypatch)
    use_smtp(f"smtp://127.0.0.1:{free_port()}?timeout=2")


def unique_email() -> str:
    return f"c-{uuid.uuid4().hex[:12]}@example.test"


@pytest.fixture
def billing(tenant: TenantHandle, run_jobs: Any) -> Billing:
    return Billing(tenant, run_jobs)


def make_job_due(database: Database, job_id: int) -> None:
    """Bring a job scheduled later (a retry) to now, for the next worker run to take."""
    with database.transaction(None) as session:
        session.execute(
            text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE id = :id"),
            {"id": job_id},
        )


def invoice_draft(address: str) -> mail.Draft:
    """An invoice email to `address` as invoicing records one, its words already written."""
    return mail.Draft(
        kind="invoice",
        event_id=new_id("evt"),
        document_id=None,
        locale="en",
        to_address=address,
        to_name="Asha Rao",
        from_name="Acme Learning Pvt Ltd",
        reply_to=None,
        content=mail.Content(f"For {address}", "Hello", "<p>Hello</p>"),
    )


def issued_invoice(billing: Billing, address: str, **customer: Any) -> dict[str, Any]:
    """A customer on the system clock, subscribed: its first invoice is finalized at once."""
    customer_id = billing.customer(None, email=address, **customer)
    plan_id = billing.plan("pro", 200000)
    subscription = billing.subscribe(customer_id, plan_id, collection_method="send_invoice")
    [invoice] = billing.invoices(subscription["id"])
    assert invoice["status"] == "open"
    return invoice


def messages_of(database: Database, tenant_id: str, document_id: str) -> list[MailMessage]:
    with database.transaction(tenant_id) as session:
        return mail.for_document(session, document_id)


def send_jobs_of(database: Database, message_id: str) -> list[dict[str, Any]]:
    with database.transaction(None) as session:
        rows = session.execute(
            text(
                "SELECT id, status, attempts, scheduled_at FROM procrastinate_jobs "
                "WHERE task_name = :task AND args->>'message_id' = :id"
            ),
            {"task": mail.SEND_TASK, "id": message_id},
        )
        return [dict(row._mapping) for row in rows]


def bodies(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(preferencelist=("plain",))
    rich = message.get_body(preferencelist=("html",))
    assert plain is not None and rich is not None
    return str(plain.get_content()), str(rich.get_content())
