"""Event shapes (API.md "Webhooks": the body of a delivery is the event)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel


class EventOut(BaseModel):
    object: Literal["event"] = "event"
    id: str
    type: str
    created_at: datetime
    data: dict[str, Any]
