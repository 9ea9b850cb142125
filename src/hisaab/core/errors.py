"""The errors a use case may raise; each becomes one RFC 9457 problem with a stable `code`.

Services raise these and nothing else for client mistakes, so the HTTP layer never has to guess
whether an exception is the client's fault (4xx) or ours (500).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldError:
    loc: tuple[str | int, ...]
    msg: str


@dataclass
class HisaabError(Exception):
    code: str
    detail: str
    status: int = 400
    title: str = "Bad request"
    errors: Sequence[FieldError] = field(default_factory=tuple)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://hisaab.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = [{"loc": list(e.loc), "msg": e.msg} for e in self.errors]
        return body


def not_found(kind: str, object_id: str) -> HisaabError:
    """Also the answer for another tenant's object: its existence is not revealed."""
    return HisaabError(
        code="resource_missing",
        status=404,
        title="Not found",
        detail=f"No such {kind}: {object_id}",
    )


def conflict(code: str, detail: str) -> HisaabError:
    return HisaabError(code=code, status=409, title="Conflict", detail=detail)


def invalid(code: str, detail: str, loc: tuple[str | int, ...] | None = None) -> HisaabError:
    errors = (FieldError(loc=loc, msg=detail),) if loc else ()
    return HisaabError(
        code=code, status=422, title="Unprocessable content", detail=detail, errors=errors
    )


def unauthorized(detail: str) -> HisaabError:
    return HisaabError(
        code="unauthorized",
        status=401,
        title="Unauthorized",
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


def forbidden(code: str, detail: str) -> HisaabError:
    return HisaabError(code=code, status=403, title="Forbidden", detail=detail)
