"""Use cases of outgoing email: record a message with the change that caused it, send it later.

`submit` runs inside the transaction of an event (invoice finalized, paid …): it writes the
message row and the send job together, once per (event, kind). The row may carry the email's
words, or only the promise of them: a kind with a registered letter renderer is written by the
send job from the stored event (an immutable snapshot, so the words come out as they would have
then), which keeps a billing run's transaction from formatting thousands of emails and lets a
bug in one fail that email's job rather than the run. `deliver` is the job: it holds
the row's lock while talking to the server, so two runs of the same job cannot both send, and a
message that is `sent` or `skipped` is never sent again. The one duplicate left possible is the
one SMTP itself allows (the server took the message, then the worker died before committing);
every attempt carries the same Message-ID so the receiving side can tell.

A billing run (issue 6) mails about two messages per renewal, and each job costs PostgreSQL more
than the rest of the message (procrastinate's insert, its event rows and notify): in a bulk
batch the messages are queued a chunk per job (`deliver_many`), and only a message that fails
goes on in a job of its own.
"""

from __future__ import annotations

import functools
import mimetypes
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import procrastinate
import structlog
from procrastinate.jobs import Job
from sqlalchemy.orm import Session

from hisaab.core import bulk
from hisaab.core.clock import SYSTEM_CLOCK
from hisaab.core.errors import HisaabError
from hisaab.core.ids import new_id
from hisaab.db import Database
from hisaab.jobs import queue
from hisaab.mail import repository
from hisaab.mail.config import parse_smtp_url
from hisaab.mail.models import MailMessage
from hisaab.mail.transport import DeliveryError, DirectoryTransport, SmtpTransport, Transport
from hisaab.webhooks import service as events
from hisaab.webhooks.service import EventRecord

SEND_TASK = "send_mail"
SEND_MANY_TASK = "send_mails"
QUEUE = "mail"
# Waits of 5 s, 25 s, 2 min, 10 min, 52 min, 4.3 h: a mail server down overnight is outlasted.
RETRY = procrastinate.RetryStrategy(max_attempts=6, exponential_wait=5)
# Messages per `send_mails` job: few jobs for a billing run, yet small enough that several
# workers share one batch's sending (each message is an SMTP connection of its own).
CHUNK = 50
_COLLECTED = "hisaab.mail.to_send"
OUTBOX_DIRECTORY = "outbox"
MAX_ERROR_LENGTH = 2000

log = structlog.get_logger("hisaab.mail")

# (session, tenant_id, document id) -> (file name, bytes); registered by the owning domain.
AttachmentRenderer = Callable[[Session, str, str], tuple[str, bytes]]
_renderers: dict[str, AttachmentRenderer] = {}


@dataclass(frozen=True)
class Content:
    """What an email says."""

    subject: str
    text_body: str
    html_body: str


# (session, the message row, the event it answers) -> its words; registered per kind by the
# domain that writes them, called by the send job.
LetterRenderer = Callable[[Session, MailMessage, EventRecord], Content]
_letters: dict[str, LetterRenderer] = {}


@dataclass(frozen=True)
class AttachmentRef:
    """A file made when the message is sent: `type` names a registered renderer."""

    type: str
    id: str


@dataclass(frozen=True)
class Draft:
    """A message as the domain composed it; `to_address` None means nobody to send to, and
    `content` None that the letter registered for `kind` writes it when it is sent."""

    kind: str
    event_id: str
    document_id: str | None
    locale: str
    to_address: str | None
    to_name: str | None
    from_name: str
    reply_to: str | None
    content: Content | None
    attachments: tuple[AttachmentRef, ...] = field(default=())
    # The sender's timezone, for a letter whose dates are written when it is sent.
    timezone: str | None = None


@dataclass(frozen=True)
class Mailer:
    """How this process sends: the transport, and the envelope/From address it may use."""

    transport: Transport
    sender: str


_mailer: Mailer | None = None


def configure(mailer: Mailer | None) -> None:
    global _mailer  # noqa: PLW0603 - one per process, set at start (tests swap it)
    _mailer = mailer


def mailer() -> Mailer:
    if _mailer is None:
        raise RuntimeError("mail.service.configure() was not called in this process")
    return _mailer


def mailer_from_settings(smtp_url: str | None, mail_from: str, data_dir: Path) -> Mailer:
    """SMTP when HISAAB_SMTP_URL is set; otherwise .eml files in `<data dir>/outbox`, so a
    laptop without a mail server still shows what would have been sent."""
    if smtp_url:
        return Mailer(SmtpTransport(parse_smtp_url(smtp_url)), mail_from)
    return Mailer(DirectoryTransport((data_dir / OUTBOX_DIRECTORY).resolve()), mail_from)


def register_attachment(type_: str, renderer: AttachmentRenderer) -> None:
    _renderers[type_] = renderer


def unregister_attachment(type_: str) -> None:
    _renderers.pop(type_, None)


def register_letter(kind: str, renderer: LetterRenderer) -> None:
    _letters[kind] = renderer


def unregister_letter(kind: str) -> None:
    _letters.pop(kind, None)


# --- recording ----------------------------------------------------------------------------


def submit(
    session: Session, tenant_id: str, draft: Draft, now: datetime, *, skip: str | None = None
) -> str | None:
    """Record the message and enqueue its sending, in the caller's transaction.

    A draft with no address, or a `skip` reason, is recorded as skipped (so "why did the customer
    get nothing?" has an answer) and never sent. Returns the message id, or None when this event
    already has a message of this kind (a replay).
    """
    reason = skip or (None if draft.to_address else "the customer has no email address")
    content = draft.content
    message_id = new_id("msg")
    inserted = repository.add_once(
        session,
        {
            "tenant_id": tenant_id,
            "id": message_id,
            "kind": draft.kind,
            "event_id": draft.event_id,
            "document_id": draft.document_id,
            "locale": draft.locale,
            "to_address": draft.to_address or None,
            "to_name": draft.to_name,
            "from_name": draft.from_name,
            "reply_to": draft.reply_to,
            "subject": content.subject if content else None,
            "text_body": content.text_body if content else None,
            "html_body": content.html_body if content else None,
            "timezone": draft.timezone,
            "attachments": [{"type": a.type, "id": a.id} for a in draft.attachments],
            "status": "skipped" if reason else "queued",
            "attempts": 0,
            "last_error": reason,
            "message_id": None,
            "created_at": now,
            "updated_at": now,
            "sent_at": None,
        },
    )
    if not inserted:
        return None
    if reason is None:
        if bulk.collecting(session):
            writer = functools.partial(_queue_chunks, tenant_id)
            bulk.collect(session, f"{_COLLECTED}:{tenant_id}", writer).append(message_id)
        else:
            _queue_one(session, tenant_id, message_id)
    return message_id


def _queue_one(
    session: Session, tenant_id: str, message_id: str, scheduled_at: datetime | None = None
) -> None:
    queue.enqueue(
        session,
        SEND_TASK,
        {"tenant_id": tenant_id, "message_id": message_id},
        queue=QUEUE,
        scheduled_at=scheduled_at,
    )


def _queue_chunks(tenant_id: str, session: Session, message_ids: list[str]) -> None:
    """A batch's messages of one tenant as `send_mails` jobs of at most CHUNK, evenly filled
    (51 go as 26 + 25, not 50 + 1, so no worker is left with a straggler). A batch that mails
    once (a request's, creating one subscription) keeps the single-message job: it costs the
    same and retries on its own schedule. Called as the batch ends, so these jobs are collected
    into its next round (`bulk.flush`)."""
    if len(message_ids) == 1:
        _queue_one(session, tenant_id, message_ids[0])
        return
    for chunk in _even_chunks(message_ids, CHUNK):
        queue.enqueue(
            session, SEND_MANY_TASK, {"tenant_id": tenant_id, "message_ids": chunk}, queue=QUEUE
        )


def _even_chunks(items: Sequence[str], most: int) -> list[list[str]]:
    """The fewest chunks of at most `most` items, sizes differing by one at most, in order."""
    count = -(-len(items) // most)
    size, larger = divmod(len(items), count) if count else (0, 0)
    chunks, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < larger else 0)
        chunks.append(list(items[start:end]))
        start = end
    return chunks


def for_document(session: Session, document_id: str) -> list[MailMessage]:
    return list(repository.for_document(session, document_id))


# --- sending ------------------------------------------------------------------------------


def deliver(database: Database, tenant_id: str, message_id: str) -> None:
    """Send one recorded message (the job). Raises DeliveryError after recording a failure that
    a later attempt may cure, so the queue retries it; a permanent refusal is recorded and not
    retried."""
    failure = _attempt(database, tenant_id, message_id, in_chunk=False)
    if failure is not None and not failure.permanent:
        raise failure


def deliver_many(database: Database, tenant_id: str, message_ids: Sequence[str]) -> None:
    """Send a chunk of a batch's messages (the `send_mails` job), each as `deliver` would, in
    its own transaction under its row's lock.

    One message's failure must neither hold back the others nor make the job retry, which
    would only delay the rest: a message a later attempt may cure gets its own `send_mail` job,
    queued with the failure in the same transaction, due when that job would have retried
    after its first attempt, and from there it follows `RETRY`. So this job only ever sends
    `queued` messages: a run after a crash (the queue retries the job) skips those sent,
    skipped or failed before it. A message that raises anything else (the database gone) does
    not stop the rest either; the job then raises it, to be retried for what is left queued."""
    crashed: Exception | None = None
    for message_id in message_ids:
        try:
            _attempt(database, tenant_id, message_id, in_chunk=True)
        except Exception as exc:
            log.exception("mail_job_crashed", tenant_id=tenant_id, message_id=message_id)
            crashed = crashed or exc
    if crashed is not None:
        raise crashed


def _attempt(
    database: Database, tenant_id: str, message_id: str, *, in_chunk: bool
) -> DeliveryError | None:
    """One try at sending the message, recorded and logged; the failure, if it failed. A
    try `in_chunk` leaves alone a message that is not `queued`, and hands a failure that may be
    cured to a `send_mail` job of its own (see `deliver_many`)."""
    outbox = mailer()
    failure: DeliveryError | None = None
    with database.transaction(tenant_id) as session:
        message = repository.lock(session, tenant_id, message_id)
        if message is None or message.status in ("sent", "skipped"):
            return None
        if in_chunk and message.status != "queued":
            return None
        message.attempts += 1
        message.message_id = message_id_header(message.id, outbox.sender)
        try:
            # A renderer's failed query must not poison the transaction that records it.
            with session.begin_nested():
                content = written(session, message)
                email = compose(session, message, outbox.sender, content)
            if message.subject is None:
                # Kept even if this attempt fails: every attempt sends the same words.
                message.subject = content.subject
                message.text_body = content.text_body
                message.html_body = content.html_body
            outbox.transport.send(email)
        except DeliveryError as exc:
            failure = exc
        except Exception as exc:
            failure = DeliveryError(f"{type(exc).__name__}: {exc}")
        now = SYSTEM_CLOCK.now()
        message.updated_at = now
        if failure is None:
            message.status = "sent"
            message.sent_at = now
            message.last_error = None
        else:
            message.status = "failed"
            message.last_error = str(failure)[:MAX_ERROR_LENGTH]
            if in_chunk and not failure.permanent and (retry_at := _retry_at(failure)):
                _queue_one(session, tenant_id, message_id, retry_at)
    fields = {"tenant_id": tenant_id, "message_id": message_id, "kind": message.kind}
    if failure is None:
        log.info("mail_sent", attempts=message.attempts, **fields)
        return None
    log.warning("mail_failed", error=str(failure), permanent=failure.permanent, **fields)
    return failure


def _retry_at(failure: DeliveryError) -> datetime | None:
    """When the queue would run a `send_mail` job again after its first attempt failed so;
    None if it would not (the strategy is asked, not copied, so the two cannot drift)."""
    first_try = Job(queue=QUEUE, lock=None, queueing_lock=None, task_name=SEND_TASK, attempts=0)
    decision = RETRY.get_retry_decision(exception=failure, job=first_try)
    return None if decision is None else decision.retry_at


def message_id_header(message_id: str, sender: str) -> str:
    """The same on every attempt (it depends on nothing but the row and the sender domain)."""
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<{message_id}@{domain}>"


def written(session: Session, message: MailMessage) -> Content:
    """The message's words: those it holds (composed with the event, or rendered by an earlier
    attempt), else its kind's letter written now from the event that caused it."""
    if message.subject is not None:
        return Content(message.subject, message.text_body or "", message.html_body or "")
    renderer = _letters.get(message.kind)
    if renderer is None:
        # Not permanent: a worker that was started without the domain's letters may be the
        # only one that ran it, and the next may have them.
        raise DeliveryError(f"no letter registered for messages of kind {message.kind!r}")
    try:
        event = events.get(session, message.tenant_id, message.event_id)
    except HisaabError as exc:
        raise DeliveryError(
            f"the event {message.event_id} this message is written from is gone", permanent=True
        ) from exc
    return renderer(session, message, event)


def compose(session: Session, message: MailMessage, sender: str, content: Content) -> EmailMessage:
    """The MIME message: text and HTML alternatives, then the attachments rendered now."""
    if message.to_address is None:
        raise DeliveryError("no recipient address", permanent=True)
    email = EmailMessage()
    email["Subject"] = _one_line(content.subject)
    email["From"] = Address(display_name=_one_line(message.from_name), addr_spec=sender)
    email["To"] = Address(
        display_name=_one_line(message.to_name or ""), addr_spec=message.to_address
    )
    if message.reply_to:
        email["Reply-To"] = Address(
            display_name=_one_line(message.from_name), addr_spec=message.reply_to
        )
    email["Date"] = format_datetime(SYSTEM_CLOCK.now())
    email["Message-ID"] = message.message_id or message_id_header(message.id, sender)
    # RFC 3834: machine-sent, so out-of-office replies do not answer it.
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(content.text_body)
    email.add_alternative(content.html_body, subtype="html")
    for ref in message.attachments:
        renderer = _renderers.get(ref["type"])
        if renderer is None:
            raise DeliveryError(f"no renderer for attachments of type {ref['type']!r}")
        filename, data = renderer(session, message.tenant_id, ref["id"])
        maintype, _, subtype = (
            mimetypes.guess_type(filename)[0] or "application/octet-stream"
        ).partition("/")
        email.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return email


def _one_line(value: str) -> str:
    """Header text from tenant or customer data: line breaks would be header injection."""
    return " ".join(value.split())
