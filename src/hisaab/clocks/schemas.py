"""Test clock shapes (API.md "Test clocks")."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from hisaab.core.schemas import InputModel, Rfc3339


class TestClockCreate(InputModel):
    __test__ = False

    frozen_time: Rfc3339 = Field(examples=["2026-01-31T10:00:00Z"])
    name: str | None = Field(default=None, max_length=200)


class TestClockAdvance(InputModel):
    frozen_time: Rfc3339


class TestClockOut(BaseModel):
    __test__ = False

    object: Literal["test_clock"] = "test_clock"
    id: str
    name: str | None
    frozen_time: datetime
    status: Literal["ready", "advancing"]
    created_at: datetime


class TestClockDeleted(BaseModel):
    __test__ = False

    object: Literal["test_clock"] = "test_clock"
    id: str
    deleted: bool = True
