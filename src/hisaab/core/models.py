"""Column types shared by every domain's tables."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from sqlalchemy import DateTime, Text
from sqlalchemy.orm import mapped_column

TenantId = Annotated[str, mapped_column(Text, primary_key=True)]
ObjectId = Annotated[str, mapped_column(Text, primary_key=True)]
Timestamp = Annotated[datetime, mapped_column(DateTime(timezone=True), nullable=False)]
OptionalTimestamp = Annotated[datetime | None, mapped_column(DateTime(timezone=True))]
