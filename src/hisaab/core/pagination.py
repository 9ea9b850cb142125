"""Cursor pagination: newest first, keyed on the time-sortable id, stable under inserts."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from hisaab.core.errors import invalid

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    data: list[T]
    has_more: bool
    next_cursor: str | None


@dataclass(frozen=True)
class PageRequest:
    limit: int = 20
    before_id: str | None = None


def encode_cursor(object_id: str) -> str:
    return base64.urlsafe_b64encode(object_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = base64.urlsafe_b64decode(padded.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise invalid(
            "invalid_cursor", "The cursor is not one this API returned.", ("query", "cursor")
        ) from None
    if not value.isprintable() or "_" not in value:
        raise invalid(
            "invalid_cursor", "The cursor is not one this API returned.", ("query", "cursor")
        )
    return value


async def _page_request(
    limit: Annotated[int, Query(ge=1, le=100, description="Objects per page (1-100).")] = 20,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous page.")
    ] = None,
) -> PageRequest:
    return PageRequest(limit=limit, before_id=decode_cursor(cursor) if cursor else None)


PageRequestDep = Annotated[PageRequest, Depends(_page_request)]


@dataclass(frozen=True)
class Slice(Generic[T]):
    items: Sequence[T]
    has_more: bool
    next_cursor: str | None


def fetch_page(
    session: Session,
    statement: Select[Any],
    id_column: InstrumentedAttribute[str],
    request: PageRequest,
) -> Slice[T]:
    """Run `statement` for one page, newest first; the caller adds its filters beforehand."""
    if request.before_id is not None:
        statement = statement.where(id_column < request.before_id)
    rows: list[T] = list(
        session.scalars(statement.order_by(id_column.desc()).limit(request.limit + 1))
    )
    has_more = len(rows) > request.limit
    items = rows[: request.limit]
    last_id: Any = getattr(items[-1], id_column.key) if has_more and items else None
    return Slice(
        items=items, has_more=has_more, next_cursor=encode_cursor(last_id) if last_id else None
    )


U = TypeVar("U")


def page_of(found: Slice[T], present: Callable[[T], U]) -> Page[U]:
    """The API's list envelope around one fetched slice."""
    return Page(
        data=[present(item) for item in found.items],
        has_more=found.has_more,
        next_cursor=found.next_cursor,
    )
