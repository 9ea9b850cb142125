"""Column types and indexes shared by every domain's tables."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from sqlalchemy import DateTime, Index, Text, text
from sqlalchemy.orm import mapped_column

TenantId = Annotated[str, mapped_column(Text, primary_key=True)]
ObjectId = Annotated[str, mapped_column(Text, primary_key=True)]
Timestamp = Annotated[datetime, mapped_column(DateTime(timezone=True), nullable=False)]
OptionalTimestamp = Annotated[datetime | None, mapped_column(DateTime(timezone=True))]


def due_indexes(name: str, rows: str, *order: str) -> tuple[Index, Index]:
    """The indexes a due-work query (`rows`, `ORDER BY order LIMIT n`) reads in order, on the
    system clock and on each test clock. One index with `test_clock_id` in it would not do for
    the system clock: PostgreSQL does not take `test_clock_id IS NULL` as the column's one value
    when ordering, so the query would read and sort every due row (migration 0021)."""
    return (
        Index(
            name, "tenant_id", *order, postgresql_where=text(f"{rows} AND test_clock_id IS NULL")
        ),
        Index(
            f"{name}_on_clock",
            "tenant_id",
            "test_clock_id",
            *order,
            postgresql_where=text(f"{rows} AND test_clock_id IS NOT NULL"),
        ),
    )
