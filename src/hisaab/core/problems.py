"""Every error leaves the API as RFC 9457 `application/problem+json` with a stable `code`."""

from __future__ import annotations

import json
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hisaab.core.errors import FieldError, HisaabError

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("hisaab.errors")

_HTTP_CODES = {
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
    return HisaabError(code=code, status=exc.status_code, title=title, detail=detail)


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


def install(app: FastAPI) -> None:
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        error = as_problem(exc)
        if error.status >= 500:
            log.error("unhandled_exception", exc_info=exc)
        return problem_response(error, request)

    for exc_type in (HisaabError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(exc_type, handle)
