"""Who is calling, and which rows PostgreSQL lets them see.

Row-level security policies compare each row's `tenant_id` with the transaction setting
`app.tenant_id` (the *scope*). A tenant's scope is its id; the platform operator's scope is the
literal `operator`, which the `tenants` table's policy (and only it) lets see every tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

OPERATOR_SCOPE = "operator"


class PrincipalKind(StrEnum):
    TENANT = "tenant"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    tenant_id: str | None = None
    key_id: str | None = None

    @property
    def scope(self) -> str:
        if self.kind is PrincipalKind.OPERATOR:
            return OPERATOR_SCOPE
        assert self.tenant_id is not None
        return self.tenant_id

    @property
    def actor(self) -> str:
        """What the audit log records as "who": the API key id, or `operator`."""
        return self.key_id if self.key_id else OPERATOR_SCOPE


OPERATOR = Principal(kind=PrincipalKind.OPERATOR)


def tenant_principal(tenant_id: str, key_id: str | None = None) -> Principal:
    return Principal(kind=PrincipalKind.TENANT, tenant_id=tenant_id, key_id=key_id)


# --- what a transaction learnt of its tenant's webhook endpoints ----------------------------
#
# Authentication by API key (tenants/service.py) reads, in the same statement, the tenant's
# `webhooks_version`: a counter that a trigger moves with every change to the tenant's webhook
# endpoints (migration 0019). The webhooks repository answers "which endpoints are enabled"
# from a per-process cache keyed by that version. The note lives here, in neither domain, so
# that tenants need not import webhooks (nor the reverse).

_WEBHOOKS_VERSION = "hisaab.tenancy.webhooks_version"


@dataclass(frozen=True, slots=True)
class _VersionNote:
    tenant_id: str
    version: int
    transaction: object  # the root SessionTransaction that read it


def note_webhooks_version(session: Session, tenant_id: str, version: int) -> None:
    """Record that the session's current transaction, bound to `tenant_id`'s scope, read the
    tenant's webhook-endpoints version `version`."""
    session.info[_WEBHOOKS_VERSION] = _VersionNote(tenant_id, version, session.get_transaction())


def webhooks_version(session: Session) -> tuple[str, int] | None:
    """(tenant, version) as read in the session's *current* transaction, or None: never a note
    of an earlier transaction of the session (a request that commits half-way and goes on in a
    new one, `core.http.checkpoint`), nor of one that changed the endpoints since."""
    note: _VersionNote | None = session.info.get(_WEBHOOKS_VERSION)
    if note is None or note.transaction is not session.get_transaction() or not note.transaction:
        return None
    return note.tenant_id, note.version


def forget_webhooks_version(session: Session) -> None:
    """The transaction changed the tenant's endpoints itself: what it read before is stale."""
    session.info.pop(_WEBHOOKS_VERSION, None)
