"""Billing periods: where a subscription's n-th period starts and ends (API "Subscriptions").

Every boundary is computed from the anchor, never by adding one period to the previous boundary:
repeated addition forgets the anchor's day, so Jan 31 + 1 month = Feb 28 would be followed by
Mar 28 and the customer would drift off the 31st for good. From the anchor, the sequence is
Jan 31 → Feb 28 → Mar 31 → Apr 30 → May 31, as the API promises.

Calendar arithmetic happens in the tenant's timezone (DESIGN rule 2): "the 31st at 10:00" is a
local date and a local time of day, so the anchor is converted to local wall time, the calendar
step is taken there, and the result is converted back to UTC. Months and years clamp the day to
the target month's last day (a Feb 29 anchor renews yearly on Feb 28, and on Feb 29 again in leap
years).

Daylight saving makes some local times happen twice and others never. The rule, for a wall-clock
time that the step lands on:

- ambiguous (clocks fall back, the time happens twice): the first occurrence (``fold=0``);
- nonexistent (clocks spring forward over it): the instant the clocks jump, i.e. the first
  instant whose local time is past it (Berlin, 2026-03-29 02:30 → 03:00 CEST = 01:00 UTC).

Both are "the earliest instant at which the local clock has reached that wall time", which maps
later wall times to later-or-equal instants, and boundaries are at least a day of wall time apart
while DST gaps are an hour or so, so boundaries strictly increase. The one exception is a whole
skipped day at the date line (Samoa and Tokelau on 2011-12-30, Kwajalein on 1993-08-21): a daily
boundary at the very start of the skipped day would land on the jump, which is also where the
next day's boundary is. That boundary alone moves to one second before the jump, so the skipped
day is a one-second period rather than a zero-length one. (The common "shift forward by the gap"
rule would collide there at every time of day, not only at midnight.)

The module is pure: no IO and no reading of the clock; callers pass the instants they mean.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo

Interval = Literal["day", "week", "month", "year"]
INTERVALS: tuple[str, ...] = get_args(Interval)

_MICROSECOND = timedelta(microseconds=1)
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Period:
    """One billing period: ``start`` inclusive, ``end`` exclusive, so periods tile time exactly.

    ``index`` is n for the period [boundary(n), boundary(n + 1)), which gives invoices a stable
    key per (subscription, period) that does not depend on how the period was found.
    """

    index: int
    start: datetime
    end: datetime


def boundary(anchor: datetime, interval: Interval, count: int, n: int, tz: ZoneInfo) -> datetime:
    """The n-th period boundary in UTC (boundary 0 is the anchor itself).

    Computed straight from the anchor so that short months clamp only the boundary that falls
    in them and the anchor's day comes back afterwards.
    """
    _check_schedule(anchor, interval, count)
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"boundary index must be an integer >= 0, got {n!r}")
    return _Schedule(anchor, interval, count, tz).boundary(n)


def period_at(
    anchor: datetime, interval: Interval, count: int, at: datetime, tz: ZoneInfo
) -> Period:
    """The period that contains ``at``.

    Renewal jobs ask this for instants decades after the anchor, so n is estimated from the
    calendar distance and then corrected by a step or two, instead of walking every period.
    """
    _check_schedule(anchor, interval, count)
    _check_aware("at", at)
    if at < anchor:
        raise ValueError("no period contains an instant before the anchor")
    return _Schedule(anchor, interval, count, tz).period_at(at)


def periods_between(
    anchor: datetime,
    interval: Interval,
    count: int,
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
) -> list[Period]:
    """Every period overlapping [start, end), in order.

    Time before the anchor belongs to no period, so the periods cover [max(start, anchor), end)
    and an interval wholly before the anchor (or empty) has none.
    """
    _check_schedule(anchor, interval, count)
    _check_aware("start", start)
    _check_aware("end", end)
    first = max(start, anchor)
    if end <= first:
        return []
    schedule = _Schedule(anchor, interval, count, tz)
    period = schedule.period_at(first)
    periods = [period]
    while period.end < end:
        period = Period(period.index + 1, period.end, schedule.boundary(period.index + 2))
        periods.append(period)
    return periods


class _Schedule:
    """An anchor resolved once to local wall time, so each boundary costs one calendar step."""

    def __init__(self, anchor: datetime, interval: Interval, count: int, tz: ZoneInfo) -> None:
        self.anchor = anchor.astimezone(UTC)
        self.wall = _wall(anchor, tz)
        self.interval = interval
        self.count = count
        self.tz = tz

    def boundary(self, n: int) -> datetime:
        # The anchor is returned as given rather than re-resolved from its wall time: an anchor
        # in the second occurrence of an ambiguous hour would otherwise move an hour earlier.
        if n == 0:
            return self.anchor
        instant, existed = self._at_step(n)
        # Only a skipped whole day can make a jump instant reach the next boundary; see above.
        if not existed:
            following, _ = self._at_step(n + 1)
            if following <= instant:
                return following - _SECOND
        return instant

    def _at_step(self, n: int) -> tuple[datetime, bool]:
        try:
            return _resolve(_step(self.wall, self.interval, n * self.count), self.tz)
        except (OverflowError, ValueError) as exc:
            raise ValueError(f"period boundary {n} is outside the representable range") from exc

    def period_at(self, at: datetime) -> Period:
        n = self._estimate(at)
        start = self.boundary(n)
        while start > at:
            n -= 1
            start = self.boundary(n)
        end = self.boundary(n + 1)
        while end <= at:
            n, start = n + 1, end
            end = self.boundary(n + 1)
        return Period(n, start, end)

    def _estimate(self, at: datetime) -> int:
        """n within a step or two of the answer, from local calendar distance alone."""
        local = _wall(at, self.tz)
        if self.interval in ("day", "week"):
            step = timedelta(days=self.count * (7 if self.interval == "week" else 1))
            n = (local - self.wall) // step
        else:
            months = (local.year - self.wall.year) * 12 + local.month - self.wall.month
            n = months // (self.count * (12 if self.interval == "year" else 1))
        return max(n, 0)


def _check_schedule(anchor: datetime, interval: str, count: int) -> None:
    _check_aware("anchor", anchor)
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {', '.join(INTERVALS)}, got {interval!r}")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"interval count must be an integer >= 1, got {count!r}")


def _check_aware(name: str, value: datetime) -> None:
    # A naive datetime would be read in the server's timezone; guessing is how periods drift.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def _wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None, fold=0)


def _step(wall: datetime, interval: str, steps: int) -> datetime:
    """Local wall time ``steps`` intervals after ``wall``, the day clamped to the month's end."""
    if interval == "day":
        return wall + timedelta(days=steps)
    if interval == "week":
        return wall + timedelta(weeks=steps)
    months = steps * (12 if interval == "year" else 1)
    year, month0 = divmod(wall.year * 12 + wall.month - 1 + months, 12)
    last_day = calendar.monthrange(year, month0 + 1)[1]
    return wall.replace(year=year, month=month0 + 1, day=min(wall.day, last_day))


def _resolve(wall: datetime, tz: ZoneInfo) -> tuple[datetime, bool]:
    """The earliest instant at which the local clock in ``tz`` reads ``wall`` or later, and
    whether the clock ever reads exactly ``wall``.

    For a time that exists that is its (first) occurrence; for one skipped by a DST gap it is the
    transition itself, found by bisection because zoneinfo does not expose its transitions.
    """
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if _wall(first, tz) == wall:
        return first, True
    # In a gap, fold=0 reads the wall time with the offset from before the jump (an instant after
    # the transition) and fold=1 with the offset from after it (an instant before the transition).
    before = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    low, high = min(before, first), max(before, first)
    if _wall(low, tz) >= wall:
        return low, False
    # Invariant: the local clock reads earlier than `wall` at `low` and `wall` or later at `high`.
    while high - low > _MICROSECOND:
        middle = low + (high - low) // 2
        if _wall(middle, tz) >= wall:
            high = middle
        else:
            low = middle
    return high, False
