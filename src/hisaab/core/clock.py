"""Where "now" comes from (DESIGN rule 2): the system clock or a test clock's frozen time.

Business code receives a `Clock`, never calls `datetime.now()`, so a customer on a test clock can
live through a year of renewals in a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class FrozenClock:
    """A clock that reads a fixed instant: a test clock, or a step of a test-clock advance."""

    instant: datetime

    def __post_init__(self) -> None:
        if self.instant.tzinfo is None:
            raise ValueError("a clock instant must be timezone-aware")

    def now(self) -> datetime:
        return self.instant.astimezone(UTC)


SYSTEM_CLOCK = SystemClock()


def utc(value: datetime) -> datetime:
    """The same instant in UTC; naive datetimes are refused, never guessed."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: timestamps must carry a UTC offset")
    return value.astimezone(UTC)
