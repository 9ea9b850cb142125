"""All SQL of the audit log (insert and read only: the app role may do nothing else here)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from hisaab.audit.models import AuditEntry
from hisaab.core import bulk
from hisaab.core.pagination import PageRequest, Slice, fetch_page


def insert_entry(session: Session, values: dict[str, Any]) -> None:
    """One entry, written at once: a plain INSERT, without the ORM's unit of work (the log is
    written on every mutating call and never read back in the same transaction)."""
    bulk.insert_row(session, cast(Table, AuditEntry.__table__), values)


def leave_entry(session: Session, values: dict[str, Any]) -> None:
    bulk.leave(session, cast(Table, AuditEntry.__table__), values)


def list_entries(session: Session, page: PageRequest) -> Slice[AuditEntry]:
    return fetch_page(session, select(AuditEntry), AuditEntry.id, page)
