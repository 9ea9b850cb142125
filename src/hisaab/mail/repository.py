"""All SQL of outgoing email."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hisaab.core import bulk
from hisaab.mail.models import MailMessage


def add_once(session: Session, values: dict[str, Any]) -> bool:
    """Insert unless this (event, kind) already has a message; whether it was inserted.

    ON CONFLICT rather than a check first: two transactions replaying the same event cannot
    both see "none yet".
    """
    return bulk.insert_row(
        session,
        MailMessage.__table__,  # type: ignore[arg-type]
        values,
        once_on=("tenant_id", "event_id", "kind"),
    )


def lock(session: Session, tenant_id: str, message_id: str) -> MailMessage | None:
    """The message, locked until the transaction ends: a second run of the send job waits
    here and then finds it sent."""
    return session.get(
        MailMessage, (tenant_id, message_id), with_for_update=True, populate_existing=True
    )


def for_document(session: Session, document_id: str) -> Sequence[MailMessage]:
    statement = (
        select(MailMessage).where(MailMessage.document_id == document_id).order_by(MailMessage.id)
    )
    return session.scalars(statement).all()
