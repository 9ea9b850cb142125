"""Every error leaves the API as RFC 9457 `application/problem+json` with a stable `code`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

from hisaab.core.errors import FieldError, HisaabError

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("hisaab.errors")

_HTTP_CODES = {
    400: ("malformed_json", "Bad request"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    413: ("payload_too_large", "Payload too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
}


def problem_response(error: HisaabError, request: Request | None = None) -> JSONResponse:
    instance = request.url.path if request is not None else None
    return JSONResponse(
        error.problem(instance),
        status_code=error.status,
        media_type=PROBLEM_JSON,
        headers=error.headers or None,
    )


def _message(error: dict[str, Any]) -> str:
    return str(error.get("msg", "invalid value"))


def from_validation_error(exc: RequestValidationError) -> HisaabError:
    """FastAPI's validation errors; a body that is not JSON at all is 400, not 422."""
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return HisaabError(
            code="malformed_json",
            status=400,
            title="Bad request",
            detail="The request body is not valid JSON.",
        )
    fields = tuple(FieldError(loc=tuple(e.get("loc", ())), msg=_message(e)) for e in errors)
    summary = "; ".join(
        f"{'.'.join(str(p) for p in f.loc[1:] or f.loc)}: {f.msg}" for f in fields[:5]
    )
    return HisaabError(
        code="validation_error",
        status=422,
        title="Unprocessable content",
        detail=f"The request is not valid: {summary}",
        errors=fields,
    )


def from_http_exception(exc: StarletteHTTPException) -> HisaabError:
    code, title = _HTTP_CODES.get(exc.status_code, ("http_error", "HTTP error"))
    detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
    if exc.status_code == 400:
        detail = "The request body is not valid UTF-8 JSON."
    return HisaabError(
        code=code,
        status=exc.status_code,
        title=title,
        detail=detail,
        headers=dict(exc.headers or {}),
    )


def as_problem(exc: BaseException) -> HisaabError:
    if isinstance(exc, HisaabError):
        return exc
    if isinstance(exc, RequestValidationError):
        return from_validation_error(exc)
    if isinstance(exc, StarletteHTTPException):
        return from_http_exception(exc)
    return HisaabError(
        code="internal_error",
        status=500,
        title="Internal server error",
        detail="Something went wrong on our side; the request changed nothing.",
    )


class ProblemError(BaseModel):
    loc: list[str | int]
    msg: str


class Problem(BaseModel):
    """RFC 9457 problem details, with Hisaab's stable machine `code`."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    errors: list[ProblemError] | None = None


_DOCUMENTED = {
    "400": "Malformed JSON or header",
    "401": "Missing or invalid credentials",
    "403": "Credentials of the wrong kind (tenant key vs operator token)",
    "404": "No such object (also another tenant's)",
    "409": "State conflict, or the same Idempotency-Key still in progress",
    "413": "Body too large",
    "422": "Validation failed",
}


def document(app: FastAPI) -> None:
    """Make /openapi.json say what errors really look like: problem+json on every /v1 route."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(problem_schema.pop("$defs", {}))
        components["Problem"] = problem_schema
        problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for path, operations in schema.get("paths", {}).items():
            if not path.startswith("/v1/"):
                continue
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for status, description in _DOCUMENTED.items():
                    responses[status] = {"description": description, "content": problem}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def flat_routes(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route, looking inside included routers (FastAPI nests them)."""
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from flat_routes(nested.routes)
        else:
            yield route


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in flat_routes(request.app.router.routes):
        match, _ = route.matches({**request.scope, "method": "OPTIONS"})
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def install(app: FastAPI) -> None:
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        error = as_problem(exc)
        if error.status == 405:
            error.headers["Allow"] = ", ".join(_allowed_methods(request))
        if error.status >= 500:
            log.error("unhandled_exception", exc_info=exc)
        return problem_response(error, request)

    for exc_type in (HisaabError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(exc_type, handle)
