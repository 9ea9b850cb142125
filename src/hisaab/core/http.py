"""The request boundary: authenticate, scope, run one transaction, audit, replay.

Every `/v1` route is built from one of the route classes below. The class (not the endpoint)
opens the transaction, binds the caller's tenant scope for row-level security, honours
`Idempotency-Key`, writes the audit entry, and commits only if the endpoint returned; so an
endpoint is left with parsing its input and calling one service function.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Annotated, Any, ClassVar, Protocol, get_args, get_origin

import structlog
from fastapi import Depends, Request, Response, params
from fastapi.datastructures import DefaultPlaceholder
from fastapi.exceptions import ResponseValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hisaab.core import bulk, idempotency
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

    def authenticate(self, session: Session, authorization: str | None) -> Principal:
        """The caller (401 if none), with the session's transaction bound to its scope."""
        ...

    def record_call(self, session: Session, principal: Principal, call: CallRecord) -> None: ...

    def leave_call(self, session: Session, principal: Principal, call: CallRecord) -> None:
        """Record the call as `record_call` does, once its transaction's last batch writes or,
        failing one, when the request ends (`bulk.leave`)."""
        ...

    def tenant_exists(self, session: Session, tenant_id: str) -> bool:
        """Whether the tenant is there, asked in a transaction bound to its own scope."""
        ...


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _open(
    runtime: Runtime, authorization: str | None, accepts: frozenset[PrincipalKind]
) -> tuple[Session, Principal]:
    """A transaction bound to the caller's scope: authentication (binding the scope in the same
    round trip) is its first statement."""
    session, principal = runtime.db.first_statement(
        lambda session: runtime.authenticate(session, authorization)
    )
    if principal.kind not in accepts:
        session.close()
        if principal.kind is PrincipalKind.OPERATOR:
            raise forbidden(
                "tenant_key_required",
                "The operator token manages tenants only; use a tenant API key here.",
            )
        raise forbidden("operator_token_required", "This endpoint needs the operator token.")
    return session, principal


def _audited_path(request: Request) -> str:
    """The path as the client sent it, still percent-encoded: storable text whatever it holds."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    return bytes(raw).decode("latin-1").replace("\x00", "%00")


def _record_failure(runtime: Runtime, principal: Principal, call: CallRecord) -> None:
    with runtime.db.transaction(principal.scope) as session:
        runtime.record_call(session, principal, call)


# The steps of a request that touch the database run in the thread pool in as few hops as the
# order of its answers allows, each hop costing a thread handoff of its own (two wake-ups, the
# largest single cost of a simple request after its SQL): (1) authenticate, bind the scope and,
# with an Idempotency-Key, claim the key; (2) the endpoint, its response serialized, the audit
# entry, the stored response and the commit. FastAPI validates the input between the two, on
# the event loop.
#
# A route whose dependencies are only the boundary's own (session, principal, tenant id, now)
# takes one hop instead: FastAPI validates the input first (the endpoint's boundary parameters
# are no dependencies of FastAPI's, the hop fills them in; a router's own get stand-ins for
# what authentication will give), and the hop does (1) then (2). Input that fails validation then
# takes the hop (1) on its own before its error is raised, so what a client sees, and in which
# order (401/403, then the Idempotency-Key's answer, then 422), is the same for both.


class _Deferred:
    """Stands in for what the one-hop path learns by authenticating, inside the hop."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name} once authenticated>"


_DEFERRED_SESSION = _Deferred("session")
_DEFERRED_PRINCIPAL = _Deferred("principal")
_DEFERRED_TENANT_ID = _Deferred("tenant_id")


@dataclass(frozen=True)
class _Opening:
    """What hop (1) needs, kept for a one-hop request until its hop runs."""

    authorization: str | None
    accepts: frozenset[PrincipalKind]
    key: str | None
    fingerprint: str
    call: CallRecord
    mutating: bool


@dataclass
class _Exchange:
    """One request's transaction as the steps of the boundary pass it along."""

    runtime: Runtime
    session: Session | None  # None until a one-hop request's hop opened it
    principal: Principal | None
    call: CallRecord | None  # the audit record of a mutating call, status still to be set
    pending_key: tuple[str, str] | None  # (Idempotency-Key, fingerprint) to store the answer
    plan: _ResponsePlan | None  # how the endpoint's return value becomes the response
    finished: bool = field(default=False)
    left_status: int | None = None  # the status of the audit entry left for a last batch
    opening: _Opening | None = None  # a one-hop request not yet authenticated


_exchange: ContextVar[_Exchange | None] = ContextVar("hisaab_http_exchange", default=None)


def _open_and_claim(
    runtime: Runtime,
    authorization: str | None,
    accepts: frozenset[PrincipalKind],
    key: str | None,
    fingerprint: str,
    call: CallRecord,
    mutating: bool,
) -> tuple[Session, Principal, idempotency.StoredResponse | None]:
    """Hop 1: the scoped transaction and, with an Idempotency-Key, the key claimed (or the
    stored response, with the transaction ended). A refused key is audited like any failure."""
    session, principal = _open(runtime, authorization, accepts)
    if key is None:
        return session, principal, None
    try:
        idempotency.validate_key(key)
        stored = idempotency.claim(session, principal.scope, key, fingerprint)
    except BaseException as exc:
        failed = replace(call, status=as_problem(exc).status) if mutating else None
        _fail(runtime, session, principal, failed)
        raise
    if stored is not None:
        session.rollback()
        session.close()
    return session, principal, stored


def _open_exchange(exchange: _Exchange, opening: _Opening) -> idempotency.StoredResponse | None:
    """Hop (1) for a one-hop request, inside its hop: the exchange gets its session and
    principal, or the stored response of its Idempotency-Key (the transaction then ended)."""
    session, principal, stored = _open_and_claim(
        exchange.runtime,
        opening.authorization,
        opening.accepts,
        opening.key,
        opening.fingerprint,
        opening.call,
        opening.mutating,
    )
    exchange.principal = principal
    structlog.contextvars.bind_contextvars(tenant_id=principal.tenant_id)
    if stored is not None:
        exchange.finished = True
        return stored
    exchange.session = session
    session.info[_SCOPE] = principal.scope
    if exchange.pending_key is not None:
        session.info[_PENDING_KEY] = exchange.pending_key
    return None


def _replay(stored: idempotency.StoredResponse) -> Response:
    return Response(
        content=stored.body,
        status_code=stored.status_code,
        media_type=stored.content_type,
        headers={"Idempotent-Replayed": "true"},
    )


def _open_run_and_finish(
    exchange: _Exchange, endpoint: _Endpoint, values: dict[str, Any]
) -> Response:
    """The one hop: authenticate (and claim the key), the endpoint, its response, the end of
    the transaction; on an error, the rollback and its audit entry."""
    opening, exchange.opening = exchange.opening, None
    assert opening is not None
    stored = _open_exchange(exchange, opening)
    if stored is not None:
        return _replay(stored)
    session, principal = exchange.session, exchange.principal
    assert session is not None
    assert principal is not None
    try:
        return _run_and_finish(exchange, endpoint, values)
    except BaseException as exc:
        if not exchange.finished:
            exchange.finished = True
            failed = replace(opening.call, status=as_problem(exc).status)
            _fail(exchange.runtime, session, principal, failed if opening.mutating else None)
        raise


def _open_and_fail(
    exchange: _Exchange, opening: _Opening, error: BaseException
) -> idempotency.StoredResponse | None:
    """A one-hop request whose input failed before its hop: hop (1) on its own, whose own
    errors (401/403, the key's 400/409/422) come first, and whose stored response (a replay)
    answers instead; else the failed call is audited and the input's error stands."""
    stored = _open_exchange(exchange, opening)
    if stored is not None:
        return stored
    session, principal = exchange.session, exchange.principal
    assert session is not None
    assert principal is not None
    exchange.finished = True
    failed = replace(opening.call, status=as_problem(error).status)
    _fail(exchange.runtime, session, principal, failed if opening.mutating else None)
    return None


def _finish(exchange: _Exchange, response: Response) -> None:
    """Audit (a mutating call), store the response (an Idempotency-Key), commit, close."""
    session, principal = exchange.session, exchange.principal
    assert session is not None
    assert principal is not None
    if exchange.call is not None and response.status_code != exchange.left_status:
        if bulk.took_left(session):
            raise RuntimeError("the audit entry went out with a status the call did not answer")
        bulk.take_left(session)
        exchange.runtime.record_call(
            session, principal, replace(exchange.call, status=response.status_code)
        )
    bulk.write_left(session)
    if exchange.pending_key is not None and 200 <= response.status_code < 300:
        key, fingerprint = exchange.pending_key
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
    exchange.finished = True


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
    bulk.take_left(session)
    try:
        session.rollback()
        if call is not None:
            _record_failure(runtime, principal, call)
    finally:
        session.close()


@dataclass(frozen=True)
class _ResponsePlan:
    """What FastAPI would do with a plain endpoint's return value, done in the endpoint's hop:
    validate it against the response model and serialize it to JSON with the route's status."""

    route: APIRoute
    status_code: int

    @classmethod
    def of(cls, route: APIRoute) -> _ResponsePlan | None:
        """None for a route whose response FastAPI must build itself (a custom response
        class, no response model, a status without a body, a `Response` parameter)."""
        status_code = route.status_code or 200
        if (
            not isinstance(route.response_class, DefaultPlaceholder)
            or route.response_field is None
            or status_code < 200
            or status_code in (204, 205, 304)
            or _takes_response(route.dependant)
        ):
            return None
        return cls(route=route, status_code=status_code)

    def respond(self, content: Any) -> Response:
        if isinstance(content, Response):
            return content
        route = self.route
        response_field = route.response_field
        assert response_field is not None
        value, errors = response_field.validate(content, {}, loc=("response",))
        if errors:
            raise ResponseValidationError(errors=errors, body=content)
        body = response_field.serialize_json(
            value,
            include=route.response_model_include,
            exclude=route.response_model_exclude,
            by_alias=route.response_model_by_alias,
            exclude_unset=route.response_model_exclude_unset,
            exclude_defaults=route.response_model_exclude_defaults,
            exclude_none=route.response_model_exclude_none,
        )
        return Response(content=body, status_code=self.status_code, media_type="application/json")


def _takes_response(dependant: Any) -> bool:
    """Whether the endpoint or any of its dependencies asks for the `Response` (to set headers
    or the status): then FastAPI must build the response."""
    if dependant.response_param_name is not None:
        return True
    return any(_takes_response(sub) for sub in dependant.dependencies)


def _run_and_finish(exchange: _Exchange, endpoint: _Endpoint, values: dict[str, Any]) -> Response:
    """Hop 2: the endpoint, its response, and the end of the transaction.

    A mutating call's audit entry is left with the route's status (the call's if the endpoint
    returns; if it raises, everything rolls back and the failure is recorded on its own), so
    that the endpoint's last batch can send it with its own rows: a statement fewer."""
    plan, session, principal = exchange.plan, exchange.session, exchange.principal
    assert plan is not None
    if exchange.call is not None:
        assert session is not None
        assert principal is not None
        exchange.runtime.leave_call(
            session, principal, replace(exchange.call, status=plan.status_code)
        )
        exchange.left_status = plan.status_code
    response = plan.respond(endpoint(exchange, values))
    _finish(exchange, response)
    return response


@dataclass(frozen=True)
class _Endpoint:
    """A plain endpoint, and those of its parameters that the boundary fills in itself (its
    session, caller, tenant id, now): FastAPI does not solve them as dependencies, each of which
    costs it more per request than the value is worth, and the one-hop path has no value for
    them before its hop anyway."""

    function: Callable[..., Any]
    filled: tuple[tuple[str, Callable[..., Any]], ...]  # (parameter, boundary dependency)

    @classmethod
    def of(cls, function: Callable[..., Any]) -> _Endpoint:
        filled = []
        for name, parameter in _typed_signature(function).parameters.items():
            dependency = _boundary_dependency(parameter)
            if dependency is not None:
                filled.append((name, dependency))
        return cls(function=function, filled=tuple(filled))

    def signature(self) -> inspect.Signature:
        """What FastAPI is shown: the endpoint's parameters but those filled in here."""
        names = {name for name, _ in self.filled}
        signature = _typed_signature(self.function)
        return signature.replace(
            parameters=[p for p in signature.parameters.values() if p.name not in names]
        )

    def __call__(self, exchange: _Exchange, values: dict[str, Any]) -> Any:
        for name, dependency in self.filled:
            values[name] = _boundary_value(dependency, exchange)
        return self.function(**values)


def _typed_signature(function: Callable[..., Any]) -> inspect.Signature:
    """The signature with its annotations evaluated (modules here postpone them); as it is when
    one cannot be (a name imported for type checking only), as FastAPI does: then no parameter
    is filled in, and FastAPI solves them all."""
    try:
        return inspect.signature(function, eval_str=True)
    except NameError:
        return inspect.signature(function)


def _boundary_dependency(parameter: inspect.Parameter) -> Callable[..., Any] | None:
    """The boundary dependency (`SessionDep`, …) the parameter asks for, if it asks for one."""
    declared = [parameter.default]
    if get_origin(parameter.annotation) is Annotated:
        declared += get_args(parameter.annotation)[1:]
    for marker in declared:
        if isinstance(marker, params.Depends) and marker.dependency in _BOUNDARY_DEPENDENCIES:
            return marker.dependency
    return None


def _boundary_value(dependency: Callable[..., Any], exchange: _Exchange) -> Any:
    """What the boundary dependency stands for in this request (authenticated by now)."""
    principal = exchange.principal
    assert principal is not None
    if dependency is _session:
        return exchange.session
    if dependency is _principal:
        return principal
    if dependency is _tenant_id:
        if principal.tenant_id is None:  # as `_tenant_id` asserts: only a tenant has one
            raise AssertionError("a tenant id asked of the operator")
        return principal.tenant_id
    return SYSTEM_CLOCK.now()  # `_now`


def _in_one_hop(function: Callable[..., Any]) -> Callable[..., Any]:
    """The plain (`def`) endpoint as a coroutine FastAPI awaits once its input is valid: it runs
    the endpoint in the thread pool and, when the route allows, builds the response and ends
    the transaction in that same hop, instead of one hop for the endpoint, one for validating
    its answer and one for the commit. Metadata stay the endpoint's own; its signature lacks
    the parameters the boundary fills in (see `_Endpoint`)."""
    endpoint = _Endpoint.of(function)

    @functools.wraps(function)
    async def hop(**values: Any) -> Any:
        exchange = _exchange.get()
        if exchange is None:
            raise RuntimeError("a boundary endpoint called outside its route")
        if exchange.plan is None:
            return await run_in_threadpool(endpoint, exchange, values)
        if exchange.opening is None:
            return await run_in_threadpool(_run_and_finish, exchange, endpoint, values)
        try:
            return await run_in_threadpool(_open_run_and_finish, exchange, endpoint, values)
        finally:  # the access log line, written on the event loop, names the tenant too
            if exchange.principal is not None:
                structlog.contextvars.bind_contextvars(tenant_id=exchange.principal.tenant_id)

    hop.__signature__ = endpoint.signature()  # type: ignore[attr-defined]
    hop.__hisaab_endpoint__ = function  # type: ignore[attr-defined]
    return hop


def _plain_function(endpoint: Callable[..., Any]) -> bool:
    function = getattr(endpoint, "__hisaab_endpoint__", endpoint)
    return inspect.isfunction(function) and not (
        inspect.iscoroutinefunction(function)
        or inspect.isgeneratorfunction(function)
        or inspect.isasyncgenfunction(function)
    )


class _TransactionalRoute(APIRoute):
    accepts: ClassVar[frozenset[PrincipalKind]]

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if _plain_function(endpoint):
            endpoint = _in_one_hop(getattr(endpoint, "__hisaab_endpoint__", endpoint))
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint_handler = super().get_route_handler()
        accepts = self.accepts
        plan = _ResponsePlan.of(self) if hasattr(self.endpoint, "__hisaab_endpoint__") else None
        one_hop = plan is not None and _only_boundary_dependencies(self.dependant)

        async def handle(request: Request) -> Response:
            runtime = _runtime(request)
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
            fingerprint = ""
            if key is not None and "content-length" in request.headers:
                # The body is all there (the size limit was checked on its declared length):
                # read it now and claim the key in the same hop as authentication.
                body = await request.body()
                fingerprint = idempotency.fingerprint(request.method, request.url.path, body)
                claim_key: str | None = key
            else:
                claim_key = None
            opening = _Opening(
                request.headers.get("authorization"),
                accepts,
                claim_key,
                fingerprint,
                call,
                mutating,
            )
            if one_hop and (key is None or claim_key is not None):
                return await _one_hop(request, endpoint_handler, runtime, opening, plan)
            session, principal, stored = await run_in_threadpool(
                _open_and_claim,
                runtime,
                opening.authorization,
                accepts,
                claim_key,
                fingerprint,
                call,
                mutating,
            )
            structlog.contextvars.bind_contextvars(tenant_id=principal.tenant_id)
            request.state.session = session
            request.state.principal = principal
            session.info[_SCOPE] = principal.scope
            exchange = _Exchange(
                runtime=runtime,
                session=session,
                principal=principal,
                call=call if mutating else None,
                pending_key=None,
                plan=plan,
            )
            token = _exchange.set(exchange)
            try:
                if key is not None and claim_key is None:  # a streamed body: a hop of its own
                    idempotency.validate_key(key)
                    body = await request.body()
                    fingerprint = idempotency.fingerprint(request.method, request.url.path, body)
                    stored = await run_in_threadpool(
                        _claim, session, principal.scope, key, fingerprint
                    )
                if stored is not None:
                    exchange.finished = True
                    return _replay(stored)
                if key is not None:
                    exchange.pending_key = (key, fingerprint)
                    session.info[_PENDING_KEY] = exchange.pending_key
                response = await endpoint_handler(request)
                if not exchange.finished:
                    await run_in_threadpool(_finish, exchange, response)
                return response
            except BaseException as exc:
                if exchange.finished:
                    raise
                failed = replace(call, status=as_problem(exc).status) if mutating else None
                await run_in_threadpool(_fail, runtime, session, principal, failed)
                raise
            finally:
                _exchange.reset(token)

        return handle


async def _one_hop(
    request: Request,
    endpoint_handler: Callable[[Request], Coroutine[Any, Any, Response]],
    runtime: Runtime,
    opening: _Opening,
    plan: _ResponsePlan | None,
) -> Response:
    """A request of a one-hop route: FastAPI validates its input with stand-ins for the session
    and the caller, and the endpoint's hop authenticates, runs it and commits."""
    exchange = _Exchange(
        runtime=runtime,
        session=None,
        principal=None,
        call=opening.call if opening.mutating else None,
        pending_key=(opening.key, opening.fingerprint) if opening.key is not None else None,
        plan=plan,
        opening=opening,
    )
    request.state.session = _DEFERRED_SESSION
    request.state.principal = _DEFERRED_PRINCIPAL
    token = _exchange.set(exchange)
    try:
        response = await endpoint_handler(request)
        if not exchange.finished:  # pragma: no cover - the hop always ends the transaction
            raise RuntimeError("a one-hop endpoint returned without ending its transaction")
        return response
    except BaseException as exc:
        if exchange.opening is None:  # the hop ran, and dealt with the error
            raise
        # The input failed before the hop: authenticate (and claim) first, as the two-hop
        # path does, then the input's own error.
        stored = await run_in_threadpool(_open_and_fail, exchange, exchange.opening, exc)
        exchange.opening = None
        if exchange.principal is not None:
            structlog.contextvars.bind_contextvars(tenant_id=exchange.principal.tenant_id)
        if stored is not None:
            return _replay(stored)
        raise
    finally:
        _exchange.reset(token)


def _only_boundary_dependencies(dependant: Any) -> bool:
    """Whether every dependency of the route is one of the boundary's own, which the one-hop
    path can stand in for (any other might use the session or the caller on the event loop),
    and the endpoint does not read them from the request itself. A boundary dependency that
    gives an endpoint parameter its value is filled in by the hop (`_Endpoint`), not solved;
    one left for FastAPI to solve (an endpoint whose annotations cannot be evaluated) must
    not meet a stand-in, so only unnamed ones (a router's, whose value nobody sees) qualify."""
    return dependant.request_param_name is None and all(
        (
            (sub.call in _BOUNDARY_DEPENDENCIES and sub.name is None)
            or isinstance(sub.call, HTTPBearer)
        )
        and not sub.dependencies
        for sub in dependant.dependencies
    )


def _claim(
    session: Session, scope: str, key: str, fingerprint: str
) -> idempotency.StoredResponse | None:
    """Lock the key; with a stored response, end the transaction and close the session."""
    stored = idempotency.claim(session, scope, key, fingerprint)
    if stored is not None:
        session.rollback()
        session.close()
    return stored


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
    if bulk.took_left(session):
        raise RuntimeError("a request's last batch must come after its checkpoints")
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
    principal: Principal | _Deferred = request.state.principal
    if isinstance(principal, _Deferred):
        return _DEFERRED_TENANT_ID  # type: ignore[return-value]
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
# What a one-hop route may depend on (see `_only_boundary_dependencies`).
_BOUNDARY_DEPENDENCIES: frozenset[Callable[..., Any]] = frozenset(
    {_session, _principal, _tenant_id, _now}
)
