"""The request boundary: authenticate, scope, run one transaction, audit, replay.

Every `/v1` route is built from one of the route classes below. The class (not the endpoint)
opens the transaction, binds the caller's tenant scope for row-level security, honours
`Idempotency-Key`, writes the audit entry, and commits only if the endpoint returned; so an
endpoint is left with parsing its input and calling one service function.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any, ClassVar, Protocol

import structlog
from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hisaab.core import idempotency
from hisaab.core.clock import SYSTEM_CLOCK
from hisaab.core.errors import HisaabError, forbidden
from hisaab.core.ids import looks_like
from hisaab.core.problems import as_problem
from hisaab.core.tenancy import Principal, PrincipalKind
from hisaab.db import Database, bind_scope

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
bearer_scheme = HTTPBearer(
    auto_error=False, description="A tenant key `sk_…` or the operator token."
)


@dataclass(frozen=True)
class CallRecord:
    """What the audit log keeps of one mutating call."""

    method: str
    path: str
    status: int
    request_id: str
    ip: str | None
    idempotency_key: str | None


class Runtime(Protocol):
    """What the request boundary needs from the wired application (see app.py)."""

    db: Database

    def authenticate(self, session: Session, authorization: str | None) -> Principal: ...

    def record_call(self, session: Session, principal: Principal, call: CallRecord) -> None: ...

    def tenant_exists(self, session: Session, tenant_id: str) -> bool:
        """Whether the tenant is there, asked in a transaction bound to its own scope."""
        ...


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _open(
    runtime: Runtime, authorization: str | None, accepts: frozenset[PrincipalKind]
) -> tuple[Session, Principal]:
    session = runtime.db.begin(scope=None)
    try:
        principal = runtime.authenticate(session, authorization)
        if principal.kind not in accepts:
            if principal.kind is PrincipalKind.OPERATOR:
                raise forbidden(
                    "tenant_key_required",
                    "The operator token manages tenants only; use a tenant API key here.",
                )
            raise forbidden("operator_token_required", "This endpoint needs the operator token.")
        bind_scope(session, principal.scope)
    except BaseException:
        session.close()
        raise
    return session, principal


def _audited_path(request: Request) -> str:
    """The path as the client sent it, still percent-encoded: storable text whatever it holds."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    return bytes(raw).decode("latin-1").replace("\x00", "%00")


def _record_failure(runtime: Runtime, principal: Principal, call: CallRecord) -> None:
    with runtime.db.transaction(principal.scope) as session:
        runtime.record_call(session, principal, call)


# The steps of a request that touch the database run in the thread pool in as few hops as the
# order allows (open, claim, endpoint, finish): each hop costs a thread handoff of its own.


def _claim(
    session: Session, scope: str, key: str, fingerprint: str
) -> idempotency.StoredResponse | None:
    """Lock the key; with a stored response, end the transaction and close the session."""
    stored = idempotency.claim(session, scope, key, fingerprint)
    if stored is not None:
        session.rollback()
        session.close()
    return stored


def _finish(
    runtime: Runtime,
    session: Session,
    principal: Principal,
    call: CallRecord | None,
    pending_key: tuple[str, str] | None,
    response: Response,
) -> None:
    """Audit (a mutating call), store the response (an Idempotency-Key), commit, close."""
    if call is not None:
        runtime.record_call(session, principal, call)
    if pending_key is not None and 200 <= response.status_code < 300:
        key, fingerprint = pending_key
        stored_response = idempotency.StoredResponse(
            status_code=response.status_code,
            content_type=response.headers.get("content-type", "application/json"),
            body=bytes(response.body),
        )
        idempotency.store(
            session, principal.scope, key, fingerprint, stored_response, SYSTEM_CLOCK.now()
        )
    session.commit()
    session.close()


def _commit_and_close(session: Session) -> None:
    session.commit()
    session.close()


def _rollback_and_close(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


def _fail(
    runtime: Runtime, session: Session, principal: Principal, call: CallRecord | None
) -> None:
    """Roll the request back and audit the failed call (a mutating one) on its own."""
    try:
        session.rollback()
        if call is not None:
            _record_failure(runtime, principal, call)
    finally:
        session.close()


class _TransactionalRoute(APIRoute):
    accepts: ClassVar[frozenset[PrincipalKind]]

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint_handler = super().get_route_handler()
        accepts = self.accepts

        async def handle(request: Request) -> Response:
            runtime = _runtime(request)
            session, principal = await run_in_threadpool(
                _open, runtime, request.headers.get("authorization"), accepts
            )
            structlog.contextvars.bind_contextvars(tenant_id=principal.tenant_id)
            request.state.session = session
            request.state.principal = principal
            mutating = request.method in MUTATING_METHODS
            key = request.headers.get("idempotency-key") if request.method == "POST" else None
            call = CallRecord(
                method=request.method,
                path=_audited_path(request),
                status=0,
                request_id=getattr(request.state, "request_id", ""),
                ip=request.client.host if request.client else None,
                idempotency_key=key,
            )
            session.info[_SCOPE] = principal.scope
            try:
                fingerprint = ""
                if key is not None:
                    idempotency.validate_key(key)
                    body = await request.body()
                    fingerprint = idempotency.fingerprint(request.method, request.url.path, body)
                    session.info[_PENDING_KEY] = (key, fingerprint)
                    stored = await run_in_threadpool(
                        _claim, session, principal.scope, key, fingerprint
                    )
                    if stored is not None:
                        return Response(
                            content=stored.body,
                            status_code=stored.status_code,
                            media_type=stored.content_type,
                            headers={"Idempotent-Replayed": "true"},
                        )
                response = await endpoint_handler(request)
                if mutating:
                    call = replace(call, status=response.status_code)
                await run_in_threadpool(
                    _finish,
                    runtime,
                    session,
                    principal,
                    call if mutating else None,
                    (key, fingerprint) if key is not None else None,
                    response,
                )
                return response
            except BaseException as exc:
                failed = replace(call, status=as_problem(exc).status) if mutating else None
                await run_in_threadpool(_fail, runtime, session, principal, failed)
                raise

        return handle


_SCOPE = "hisaab.http.scope"
_PENDING_KEY = "hisaab.http.idempotency"


def in_request(session: Session) -> bool:
    """Whether the session is a request's (which can `checkpoint`), not a job's."""
    return _SCOPE in session.info


def checkpoint(session: Session) -> None:
    """Commit the request's work so far and go on in a fresh transaction of the same scope.

    For the few requests that must make their changes durable before talking to the outside
    world (charging a card for an invoice the request just created). A request that came with an
    Idempotency-Key leaves the key marked in progress in the committed part, so a retry of it
    can never run the first part a second time; the end of the request stores the response
    over that mark as usual.
    """
    scope: str = session.info[_SCOPE]
    pending: tuple[str, str] | None = session.info.get(_PENDING_KEY)
    if pending is not None:
        key, fingerprint = pending
        idempotency.mark_in_progress(session, scope, key, fingerprint, SYSTEM_CLOCK.now())
    session.commit()
    bind_scope(session, scope)


class TenantRoute(_TransactionalRoute):
    """Routes for a tenant's own API key."""

    accepts = frozenset({PrincipalKind.TENANT})


class OperatorRoute(_TransactionalRoute):
    """Routes for the platform operator token (tenant management)."""

    accepts = frozenset({PrincipalKind.OPERATOR})


class AnyPrincipalRoute(_TransactionalRoute):
    """Routes either may call; each sees only its own scope."""

    accepts = frozenset({PrincipalKind.TENANT, PrincipalKind.OPERATOR})


def _open_for_path_tenant(runtime: Runtime, tenant_id: str) -> Session:
    if not looks_like("ten", tenant_id):
        raise unknown_tenant()
    session = runtime.db.begin(scope=tenant_id)
    try:
        if not runtime.tenant_exists(session, tenant_id):
            raise unknown_tenant()
    except BaseException:
        session.close()
        raise
    return session


def unknown_tenant() -> HisaabError:
    # 400, not 404: the caller is a gateway, and what it must learn is that the URL it was
    # given is wrong (Stripe and Razorpay show the answer to whoever set the webhook up).
    return HisaabError(
        code="unknown_tenant",
        detail="No such tenant: check the webhook URL configured at the gateway.",
    )


class PathTenantRoute(APIRoute):
    """Routes a third party calls for a tenant without an API key (gateway webhooks).

    The tenant comes from the path (`{tenant_id}`) and the transaction is bound to its scope
    once the tenant is known to exist; proving that the caller speaks for that tenant is the
    endpoint's job (a gateway webhook's signature, checked with the tenant's own secret), and
    nothing is committed unless the endpoint returned. No Idempotency-Key and no audit entry:
    the caller is no principal of ours, and the endpoint keeps its own record of each call.

    A subclass finds the tenant elsewhere by overriding `tenant_of` (the pay page reads it from
    the sealed token of its link); `checkpoint` works in these routes as in a TenantRoute.
    """

    def tenant_of(self, request: Request) -> str:
        """The tenant the request is for ("" when it names none)."""
        return str(request.path_params.get("tenant_id", ""))

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint_handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            runtime = _runtime(request)
            tenant_id = self.tenant_of(request)
            session = await run_in_threadpool(_open_for_path_tenant, runtime, tenant_id)
            session.info[_SCOPE] = tenant_id
            structlog.contextvars.bind_contextvars(tenant_id=tenant_id)
            request.state.session = session
            request.state.path_tenant_id = tenant_id
            try:
                response = await endpoint_handler(request)
                await run_in_threadpool(_commit_and_close, session)
                return response
            except BaseException:
                await run_in_threadpool(_rollback_and_close, session)
                raise

        return handle


async def _session(request: Request) -> Session:
    session: Session = request.state.session
    return session


async def _principal(request: Request) -> Principal:
    principal: Principal = request.state.principal
    return principal


async def _tenant_id(request: Request) -> str:
    principal: Principal = request.state.principal
    assert principal.tenant_id is not None
    return principal.tenant_id


SessionDep = Annotated[Session, Depends(_session)]
PrincipalDep = Annotated[Principal, Depends(_principal)]
TenantIdDep = Annotated[str, Depends(_tenant_id)]
AUTH = [Depends(bearer_scheme)]


async def _now() -> datetime:
    """Wall-clock time for records that no test clock governs (tenants, keys, audit).

    The dependencies here are coroutines: they do no IO, and a plain function would cost a
    thread-pool hop each per request."""
    return SYSTEM_CLOCK.now()


NowDep = Annotated[datetime, Depends(_now)]
