"""All SQL of the audit log (insert and read only: the app role may do nothing else here)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hisaab.audit.models import AuditEntry
from hisaab.core.pagination import PageRequest, Slice, fetch_page


def add(session: Session, entry: AuditEntry) -> None:
    session.add(entry)
    session.flush()


def list_entries(session: Session, page: PageRequest) -> Slice[AuditEntry]:
    return fetch_page(session, select(AuditEntry), AuditEntry.id, page)
