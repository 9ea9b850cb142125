"""The FastAPI application: routers, error handlers, middleware and the request runtime."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from sqlalchemy.orm import Session

from hisaab import observability
from hisaab.audit import api as audit_api
from hisaab.audit import service as audit
from hisaab.catalog import api as catalog_api
from hisaab.clocks import api as clocks_api
from hisaab.core import problems
from hisaab.core.clock import SYSTEM_CLOCK
from hisaab.core.errors import HisaabError
from hisaab.core.http import CallRecord
from hisaab.core.tenancy import Principal
from hisaab.customers import api as customers_api
from hisaab.db import Database
from hisaab.entitlements import api as entitlements_api
from hisaab.invoicing import api as invoicing_api
from hisaab.invoicing import credit_notes_api
from hisaab.ledger import api as ledger_api
from hisaab.ops import api as ops_api
from hisaab.payments import api as payments_api
from hisaab.payments import checkout_api, inbound_api
from hisaab.payments import service as payments
from hisaab.subscriptions import api as subscriptions_api
from hisaab.tenants import api as tenants_api
from hisaab.tenants import service as tenants
from hisaab.usage import api as usage_api
from hisaab.webhooks import api as webhooks_api
from hisaab.webhooks import delivery as webhook_delivery

DESCRIPTION = (
    "Self-hostable, multi-tenant billing and subscriptions. Authenticate with "
    "`Authorization: Bearer sk_…` (a tenant key) or the operator token (tenant management)."
)


@dataclass
class AppRuntime:
    """What every request needs from the process: the database and the operator token."""

    db: Database
    admin_token: str | None

    def authenticate(self, session: Session, authorization: str | None) -> Principal:
        return tenants.authenticate(session, authorization, self.admin_token, bind=True)

    def record_call(self, session: Session, principal: Principal, call: CallRecord) -> None:
        audit.record_call(session, principal, call, SYSTEM_CLOCK.now())

    def leave_call(self, session: Session, principal: Principal, call: CallRecord) -> None:
        audit.leave_call(session, principal, call, SYSTEM_CLOCK.now())

    def tenant_exists(self, session: Session, tenant_id: str) -> bool:
        try:
            tenants.get_tenant(session, tenant_id)
        except HisaabError:
            return False
        return True


def create_app(
    database: Database, admin_token: str | None, max_body_bytes: int = 8 * 1024 * 1024
) -> FastAPI:
    app = FastAPI(title="Hisaab", version="1.0.0", description=DESCRIPTION)
    app.state.runtime = AppRuntime(db=database, admin_token=admin_token)
    problems.install(app)
    problems.document(app)
    # Routers in the order of the traffic they take: FastAPI finds a request's route by trying
    # the routers one after the other (each route of a router passed over costs a few
    # microseconds: usage events, last, paid ~0.35 ms a call). No route of one router answers a
    # path of another's (tests/test_routing.py), so the order changes nothing else.
    for router in (
        ops_api.router,
        customers_api.router,
        usage_api.router,
        invoicing_api.router,
        subscriptions_api.router,
        payments_api.router,
        inbound_api.router,
        entitlements_api.router,
        tenants_api.operator_router,
        tenants_api.router,
        clocks_api.router,
        catalog_api.router,
        credit_notes_api.router,
        checkout_api.router,
        ledger_api.router,
        audit_api.router,
        webhooks_api.router,
        webhooks_api.endpoints_router,
    ):
        app.include_router(router)
    # Requests emit events; each enabled endpoint taking one gets a delivery in the same tx.
    webhook_delivery.install()
    # Finalized invoices are collected through the gateways, not left for out-of-band payment.
    payments.install()
    app.add_middleware(observability.RequestContextMiddleware, max_body_bytes=max_body_bytes)
    return app
