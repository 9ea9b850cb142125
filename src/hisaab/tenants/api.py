"""HTTP routes of tenants and API keys: parse, call one service function, present."""

from __future__ import annotations

from fastapi import APIRouter, Path, status

from hisaab.core.http import AUTH, NowDep, OperatorRoute, SessionDep, TenantIdDep, TenantRoute
from hisaab.core.pagination import Page, PageRequestDep, page_of
from hisaab.tenants import keys, service
from hisaab.tenants.models import ApiKey, Tenant
from hisaab.tenants.schemas import (
    ApiKeyCreated,
    ApiKeyOut,
    TenantCreate,
    TenantCreated,
    TenantOut,
    TenantUpdate,
)

operator_router = APIRouter(
    prefix="/v1", route_class=OperatorRoute, dependencies=AUTH, tags=["tenants"]
)
router = APIRouter(prefix="/v1", route_class=TenantRoute, dependencies=AUTH, tags=["tenants"])

TenantPath = Path(max_length=64, description="A tenant id `ten_…`.")
KeyPath = Path(max_length=64, description="An API key id `key_…`.")


def present_tenant(tenant: Tenant) -> TenantOut:
    return service.present(tenant)


def present_key(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.id,
        redacted_secret=keys.redacted(key.last4),
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )


def present_issued(issued: service.IssuedKey) -> ApiKeyCreated:
    return ApiKeyCreated(**present_key(issued.key).model_dump(), secret=issued.secret)


@operator_router.post("/tenants", status_code=status.HTTP_201_CREATED)
def create_tenant(body: TenantCreate, session: SessionDep, now: NowDep) -> TenantCreated:
    """Create a tenant and its first API key (operator token)."""
    tenant, issued = service.create_tenant(session, body, now)
    return TenantCreated(tenant=present_tenant(tenant), api_key=present_issued(issued))


@operator_router.get("/tenants")
def list_tenants(session: SessionDep, page: PageRequestDep) -> Page[TenantOut]:
    return page_of(service.list_tenants(session, page), present_tenant)


@operator_router.get("/tenants/{tenant_id}")
def get_tenant(session: SessionDep, tenant_id: str = TenantPath) -> TenantOut:
    return present_tenant(service.get_tenant(session, tenant_id))


@router.get("/tenant")
def get_own_tenant(session: SessionDep, tenant_id: TenantIdDep) -> TenantOut:
    """The calling tenant's profile and settings."""
    return present_tenant(service.get_tenant(session, tenant_id))


@router.patch("/tenant")
def update_own_tenant(
    body: TenantUpdate, session: SessionDep, tenant_id: TenantIdDep, now: NowDep
) -> TenantOut:
    return present_tenant(service.update_tenant(session, tenant_id, body, now))


@router.post("/api_keys", status_code=status.HTTP_201_CREATED)
def create_api_key(session: SessionDep, tenant_id: TenantIdDep, now: NowDep) -> ApiKeyCreated:
    """A new secret for the calling tenant, shown in this response only."""
    return present_issued(service.create_api_key(session, tenant_id, now))


@router.get("/api_keys")
def list_api_keys(session: SessionDep, page: PageRequestDep) -> Page[ApiKeyOut]:
    return page_of(service.list_api_keys(session, page), present_key)


@router.delete("/api_keys/{key_id}")
def revoke_api_key(
    session: SessionDep, tenant_id: TenantIdDep, now: NowDep, key_id: str = KeyPath
) -> ApiKeyOut:
    """Revoke a key; requests with it fail from the next one on."""
    return present_key(service.revoke_api_key(session, tenant_id, key_id, now))
