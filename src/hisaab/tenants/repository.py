"""All SQL of the tenants domain. Row-level security limits every query to the caller's scope."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from hisaab.core.pagination import PageRequest, Slice, fetch_page
from hisaab.db import run_sql, scoping
from hisaab.tenants.models import ApiKey, Tenant

# The key's tenant, and the transaction bound to that tenant's scope in the same round trip
# (set_config runs for the one row returned: an unknown or revoked key binds nothing), with the
# tenant's webhook-endpoints version (see `ResolvedKey`). Plain driver SQL: it runs on every
# request.
_RESOLVE_AND_BIND = (
    "SELECT tenant_id, key_id, webhooks_version, "
    f"{scoping('tenant_id')} FROM hisaab_resolve_api_key(%s)"
)
_RESOLVE = "SELECT tenant_id, key_id, webhooks_version FROM hisaab_resolve_api_key(%s)"


class ResolvedKey(NamedTuple):
    """A live key's tenant and id, and the tenant's `webhooks_version` (a counter that every
    change to its webhook endpoints moves) as of the statement that resolved the key."""

    tenant_id: str
    key_id: str
    webhooks_version: int


def add(session: Session, obj: Tenant | ApiKey) -> None:
    session.add(obj)
    session.flush()


def get_tenant(session: Session, tenant_id: str) -> Tenant | None:
    return session.get(Tenant, tenant_id)


def list_tenants(session: Session, page: PageRequest) -> Slice[Tenant]:
    return fetch_page(session, select(Tenant), Tenant.id, page)


def get_key(
    session: Session, tenant_id: str, key_id: str, *, for_update: bool = False
) -> ApiKey | None:
    return session.get(ApiKey, (tenant_id, key_id), with_for_update=for_update)


def list_keys(session: Session, page: PageRequest) -> Slice[ApiKey]:
    return fetch_page(session, select(ApiKey), ApiKey.id, page)


def resolve_key(session: Session, secret_hash: str, *, bind: bool = False) -> ResolvedKey | None:
    """A live key's tenant, id and the tenant's webhooks version, before any tenant scope
    exists; with `bind`, the transaction is also bound to that tenant's scope (nothing is bound
    when there is no key).

    Runs through a SECURITY DEFINER function that can only answer this one question, so
    authentication needs no cross-tenant read access.
    """
    row = run_sql(session, _RESOLVE_AND_BIND if bind else _RESOLVE, (secret_hash,)).first()
    return ResolvedKey(row.tenant_id, row.key_id, row.webhooks_version) if row else None


def all_tenant_ids(session: Session) -> list[str]:
    return list(session.scalars(select(Tenant.id).order_by(Tenant.id)))
