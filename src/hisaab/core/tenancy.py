"""Who is calling, and which rows PostgreSQL lets them see.

Row-level security policies compare each row's `tenant_id` with the transaction setting
`app.tenant_id` (the *scope*). A tenant's scope is its id; the platform operator's scope is the
literal `operator`, which the `tenants` table's policy (and only it) lets see every tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

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
