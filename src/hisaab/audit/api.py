"""`GET /v1/audit_log`: the caller's own trail (a tenant's, or the operator's)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from hisaab.audit import service
from hisaab.audit.models import AuditEntry
from hisaab.core.http import AUTH, AnyPrincipalRoute, SessionDep
from hisaab.core.pagination import Page, PageRequestDep, page_of

router = APIRouter(prefix="/v1", route_class=AnyPrincipalRoute, dependencies=AUTH, tags=["audit"])


class AuditEntryOut(BaseModel):
    object: Literal["audit_entry"] = "audit_entry"
    id: str
    occurred_at: datetime
    actor: str
    method: str
    path: str
    status: int
    request_id: str
    ip: str | None
    idempotency_key: str | None


def present(entry: AuditEntry) -> AuditEntryOut:
    return AuditEntryOut.model_validate(entry, from_attributes=True)


@router.get("/audit_log")
def list_audit_log(session: SessionDep, page: PageRequestDep) -> Page[AuditEntryOut]:
    """Mutating calls, newest first: actor is the API key id, or `operator`."""
    return page_of(service.list_entries(session, page), present)
