"""Use cases of tenants and their API keys."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from hisaab.core import bulk, secrets
from hisaab.core.errors import unauthorized
from hisaab.core.ids import new_id
from hisaab.core.lookup import found
from hisaab.core.money import currency_code
from hisaab.core.pagination import PageRequest, Slice
from hisaab.core.tenancy import OPERATOR, Principal, note_webhooks_version, tenant_principal
from hisaab.db import bind_scope
from hisaab.tenants import keys, repository, rules
from hisaab.tenants.models import ApiKey, Tenant
from hisaab.tenants.schemas import (
    DunningSettings,
    GatewayCredentials,
    GatewayStatus,
    TenantCreate,
    TenantOut,
    TenantUpdate,
)


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret: str


def authenticate(
    session: Session, authorization: str | None, admin_token: str | None, *, bind: bool = False
) -> Principal:
    """The principal behind an `Authorization: Bearer …` header, or 401.

    With `bind`, the session's transaction is also bound to the principal's scope (a tenant key
    in the same round trip as its lookup); nothing is bound when the answer is 401. A tenant key
    bound so also leaves the note of the tenant's webhook-endpoints version, as read by that
    statement, for the rest of the transaction (`core.tenancy.webhooks_version`): the request
    boundary runs this as the transaction's first statement.
    """
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise unauthorized("Send `Authorization: Bearer <key>`.")
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        if bind:
            bind_scope(session, OPERATOR.scope)
        return OPERATOR
    if token.startswith(keys.SECRET_PREFIX) and token.isascii():
        found = repository.resolve_key(session, keys.secret_hash(token), bind=bind)
        if found is not None:
            if bind:
                note_webhooks_version(session, found.tenant_id, found.webhooks_version)
            return tenant_principal(found.tenant_id, found.key_id)
    raise unauthorized("The API key is not valid or has been revoked.")


def _profile_registrations(data: TenantCreate | TenantUpdate) -> list[tuple[str, str]]:
    return [(r.scheme, r.number) for r in data.tax_registrations or []]


def create_tenant(session: Session, data: TenantCreate, now: datetime) -> tuple[Tenant, IssuedKey]:
    profile = rules.tax_profile(
        data.country, data.state, data.gstin, data.lut, _profile_registrations(data)
    )
    tenant = Tenant(
        id=new_id("ten"),
        name=data.name,
        country=profile.country,
        state=profile.state,
        gstin=profile.gstin,
        base_currency=currency_code(data.base_currency, ("body", "base_currency")),
        timezone=rules.timezone_name(data.timezone),
        invoice_prefix=rules.invoice_prefix(
            data.invoice_prefix, data.name, profile.gstin is not None
        ),
        lut=profile.lut,
        email=data.email,
        address=data.address.model_dump(exclude_none=True) if data.address else None,
        logo=rules.logo(data.logo) if data.logo else None,
        tax_registrations=[{"scheme": s, "number": n} for s, n in profile.registrations],
        dunning=DunningSettings().model_dump(),
        gateways={},
        created_at=now,
        updated_at=now,
    )
    repository.add(session, tenant)
    return tenant, _issue_key(session, tenant.id, now)


def list_tenants(session: Session, page: PageRequest) -> Slice[Tenant]:
    return repository.list_tenants(session, page)


def get_tenant(session: Session, tenant_id: str) -> Tenant:
    """The tenant (held for the rest of a bulk batch, which reads it for every document)."""
    return bulk.memo(
        session,
        ("tenant", tenant_id),
        lambda: found(
            "tenant", "ten", tenant_id, lambda: repository.get_tenant(session, tenant_id)
        ),
    )


# Base currencies of the tenants this process has served. A tenant's base currency is fixed when
# it is created (`TenantUpdate` has no such field), so what was read once stays true; a read in
# the tenant's own scope fills it, and only that tenant's requests ask for it.
_base_currencies: dict[str, str] = {}
_MAX_REMEMBERED = 100_000


def base_currency(session: Session, tenant_id: str) -> str:
    """The tenant's base currency (404 if there is no such tenant in this scope)."""
    known = _base_currencies.get(tenant_id)
    if known is None:
        known = get_tenant(session, tenant_id).base_currency
        if len(_base_currencies) >= _MAX_REMEMBERED:
            _base_currencies.clear()
        _base_currencies[tenant_id] = known
    return known


def local_day(tenant: Tenant, moment: datetime) -> date:
    """The calendar day `moment` falls on where the tenant is (DESIGN rule 2): the date its
    documents bear and the financial year they number in."""
    return moment.astimezone(ZoneInfo(tenant.timezone)).date()


def update_tenant(session: Session, tenant_id: str, patch: TenantUpdate, now: datetime) -> Tenant:
    tenant = get_tenant(session, tenant_id)
    fields = patch.model_fields_set
    if fields & {"lut", "tax_registrations"}:
        registrations = (
            _profile_registrations(patch)
            if "tax_registrations" in fields
            else [(r["scheme"], r["number"]) for r in tenant.tax_registrations]
        )
        lut = tenant.lut if patch.lut is None else patch.lut
        profile = rules.tax_profile(tenant.country, tenant.state, tenant.gstin, lut, registrations)
        tenant.lut = profile.lut
        tenant.tax_registrations = [{"scheme": s, "number": n} for s, n in profile.registrations]
    if patch.name is not None:
        tenant.name = patch.name
    if "email" in fields:
        tenant.email = patch.email
    if "address" in fields:
        tenant.address = patch.address.model_dump(exclude_none=True) if patch.address else None
    if "logo" in fields:
        tenant.logo = rules.logo(patch.logo) if patch.logo else None
    if patch.timezone is not None:
        tenant.timezone = rules.timezone_name(patch.timezone)
    if patch.invoice_prefix is not None:
        tenant.invoice_prefix = rules.invoice_prefix(
            patch.invoice_prefix, tenant.name, tenant.gstin is not None
        )
    if patch.dunning is not None:
        tenant.dunning = patch.dunning.model_dump()
    if patch.gateways is not None:
        tenant.gateways = _sealed_gateways(tenant.gateways, patch.gateways)
    tenant.updated_at = now
    session.flush()
    return tenant


# Fields of each gateway's credentials that are secret (sealed); the rest (Razorpay's key id) is
# an account identifier and is kept readable, as a hint of which account is connected.
_SECRET_FIELDS = {
    "stripe": ("secret_key", "webhook_secret"),
    "razorpay": ("key_secret", "webhook_secret"),
}


def _sealed_gateways(
    current: dict[str, dict[str, str]], patch: GatewayCredentials
) -> dict[str, dict[str, str]]:
    gateways = dict(current)
    for name in patch.model_fields_set:
        sent = getattr(patch, name)
        if sent is None:
            gateways.pop(name, None)
            continue
        stored: dict[str, str] = {}
        for field, value in sent.model_dump(exclude_none=True).items():
            stored[field] = secrets.seal(value) if field in _SECRET_FIELDS[name] else value
        if name == "stripe":
            stored["hint"] = f"{sent.secret_key[:8]}…{sent.secret_key[-4:]}"
        gateways[name] = stored
    return gateways


def present(tenant: Tenant) -> TenantOut:
    fields = {name: getattr(tenant, name) for name in TenantOut.model_fields if name != "object"}
    return TenantOut.model_validate({**fields, "gateways": gateway_statuses(tenant)})


def gateway_statuses(tenant: Tenant) -> dict[str, GatewayStatus]:
    statuses = {
        "sandbox": GatewayStatus(configured=True, webhook_secret_set=False, account_hint=None)
    }
    for name, stored in sorted(tenant.gateways.items()):
        statuses[name] = GatewayStatus(
            configured=True,
            webhook_secret_set="webhook_secret" in stored,
            account_hint=stored.get("hint") or stored.get("key_id"),
        )
    return statuses


def gateway_credentials(session: Session, tenant_id: str, gateway: str) -> dict[str, str] | None:
    """The tenant's credentials for `gateway`, opened; None if it has not configured it."""
    stored = get_tenant(session, tenant_id).gateways.get(gateway)
    if stored is None:
        return None
    return {
        field: secrets.unseal(value) if field in _SECRET_FIELDS[gateway] else value
        for field, value in stored.items()
    }


def _issue_key(session: Session, tenant_id: str, now: datetime) -> IssuedKey:
    secret = keys.new_secret()
    key = ApiKey(
        tenant_id=tenant_id,
        id=new_id("key"),
        secret_hash=keys.secret_hash(secret),
        last4=secret[-4:],
        created_at=now,
        revoked_at=None,
    )
    repository.add(session, key)
    return IssuedKey(key=key, secret=secret)


def create_api_key(session: Session, tenant_id: str, now: datetime) -> IssuedKey:
    return _issue_key(session, tenant_id, now)


def list_api_keys(session: Session, page: PageRequest) -> Slice[ApiKey]:
    return repository.list_keys(session, page)


def revoke_api_key(session: Session, tenant_id: str, key_id: str, now: datetime) -> ApiKey:
    """Revoked keys stop authenticating on the very next request; revoking twice is harmless."""
    key = found(
        "api_key",
        "key",
        key_id,
        lambda: repository.get_key(session, tenant_id, key_id, for_update=True),
    )
    if key.revoked_at is None:
        key.revoked_at = now
        session.flush()
    return key


def all_tenant_ids(session: Session) -> list[str]:
    """Every tenant's id; only the operator scope sees them all."""
    return repository.all_tenant_ids(session)
