"""Who did what, when, from which key: one entry per mutating API call, failed ones included."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hisaab.audit import repository
from hisaab.audit.models import AuditEntry
from hisaab.core.http import CallRecord
from hisaab.core.ids import new_id
from hisaab.core.pagination import PageRequest, Slice
from hisaab.core.tenancy import Principal


def record_call(session: Session, principal: Principal, call: CallRecord, now: datetime) -> None:
    repository.insert_entry(session, _entry(principal, call, now))


def leave_call(session: Session, principal: Principal, call: CallRecord, now: datetime) -> None:
    """The entry of a call that is to succeed with `call.status` if its transaction commits:
    written by the request's last batch, if it has one, else when the request ends."""
    repository.leave_entry(session, _entry(principal, call, now))


def _entry(principal: Principal, call: CallRecord, now: datetime) -> dict[str, Any]:
    return {
        "tenant_id": principal.scope,
        "id": new_id("aud"),
        "occurred_at": now,
        "actor": principal.actor,
        "method": call.method,
        "path": call.path,
        "status": call.status,
        "request_id": call.request_id,
        "ip": call.ip,
        "idempotency_key": call.idempotency_key,
    }


def list_entries(session: Session, page: PageRequest) -> Slice[AuditEntry]:
    return repository.list_entries(session, page)
