"""Every email Hisaab meant to send, with what it said and how sending it went.

The row is written in the transaction of the event that caused it, so it exists exactly when
that change committed (what the email says may be written only when it is sent); the unique
(event, kind) makes a replayed event a no-op, and the send job locks the row and stops at
`sent`, so a job that runs twice mails once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hisaab.core.models import ObjectId, OptionalTimestamp, TenantId, Timestamp
from hisaab.db import Base

STATUSES = ("queued", "sent", "failed", "skipped")


class MailMessage(Base):
    __tablename__ = "mail_messages"
    __table_args__ = (
        UniqueConstraint("tenant_id", "event_id", "kind"),
        CheckConstraint("status IN ('queued', 'sent', 'failed', 'skipped')", name="status"),
        Index("ix_mail_messages_document", "tenant_id", "document_id"),
    )

    tenant_id: Mapped[TenantId]
    id: Mapped[ObjectId]
    # What the email is (`invoice`, `receipt`, `credit_note`, …), named by the domain sending it.
    kind: Mapped[str] = mapped_column(Text)
    # The outbox event that caused it. No foreign key: events may be pruned, the record stays.
    event_id: Mapped[str] = mapped_column(Text)
    # The document it is about (`in_…`, `cn_…`), to answer "did the customer get this invoice?".
    document_id: Mapped[str | None] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(Text)
    # Null when there is nobody to send to (status `skipped`).
    to_address: Mapped[str | None] = mapped_column(Text)
    to_name: Mapped[str | None] = mapped_column(Text)
    # The tenant as sender: its name shown in From, its own address in Reply-To.
    from_name: Mapped[str] = mapped_column(Text)
    reply_to: Mapped[str | None] = mapped_column(Text)
    # What the email says. Null until the send job renders a letter its domain registered for
    # this kind (from the event, see mail.service.register_letter); kept once sent, so a retry
    # sends the same words and support can read what the customer got.
    subject: Mapped[str | None] = mapped_column(Text)
    text_body: Mapped[str | None] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    # The tenant's timezone when the event happened: the calendar of the dates in a letter
    # rendered later, as from_name and reply_to keep the tenant's name and address of then.
    timezone: Mapped[str | None] = mapped_column(Text)
    # References rendered when sending (`[{"type": "invoice_pdf", "id": "in_…"}]`), not bytes:
    # the PDF is made by the send job, keeping the transaction that finalizes an invoice short.
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    # Why the last attempt failed, or why the message was skipped.
    last_error: Mapped[str | None] = mapped_column(Text)
    # The RFC 5322 Message-ID every attempt uses, so a duplicate after a lost reply is spotted.
    message_id: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]
    sent_at: Mapped[OptionalTimestamp]
