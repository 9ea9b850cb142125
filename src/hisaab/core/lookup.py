"""Fetching an object by the id a client sent, the same way in every domain."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from hisaab.core.errors import not_found
from hisaab.core.ids import looks_like

T = TypeVar("T")


def found(kind: str, prefix: str, object_id: str, load: Callable[[], T | None]) -> T:
    """The object `load` finds, or 404 `resource_missing`.

    An id of the wrong shape is answered like an unknown one, without a query: the client learns
    nothing either way, and text PostgreSQL cannot store (NUL) never reaches it. Row-level
    security makes another tenant's object unknown too.
    """
    obj = load() if looks_like(prefix, object_id) else None
    if obj is None:
        raise not_found(kind, object_id)
    return obj
