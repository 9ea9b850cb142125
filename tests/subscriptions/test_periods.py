"""Billing periods: month-end anchors, leap years, tenant timezones, DST, and tiling properties."""

from __future__ import annotations

import calendar
import itertools
from datetime import UTC, datetime, time, timedelta
from typing import get_args
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hisaab.subscriptions import periods
from hisaab.subscriptions.periods import Interval, Period, boundary, period_at, periods_between

UTC_ZONE = ZoneInfo("UTC")
KOLKATA = ZoneInfo("Asia/Kolkata")
TOKYO = ZoneInfo("Asia/Tokyo")
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
APIA = ZoneInfo("Pacific/Apia")
ZONES = [
    UTC_ZONE,
    KOLKATA,
    TOKYO,
    SAO_PAULO,
    BERLIN,
    NEW_YORK,
    APIA,
    ZoneInfo("Australia/Lord_Howe"),  # a 30-minute DST shift
    ZoneInfo("America/St_Johns"),  # a -03:30 / -02:30 zone
]
INTERVALS: list[Interval] = list(get_args(Interval))


def local(value: str, tz: ZoneInfo) -> datetime:
    """An ISO wall-clock time in ``tz`` (the times used here exist and are unambiguous)."""
    return datetime.fromisoformat(value).replace(tzinfo=tz)


def local_walls(
    anchor: datetime, interval: Interval, count: int, k: int, tz: ZoneInfo
) -> list[str]:
    """Boundaries 0..k-1 as naive ISO wall times in ``tz``."""
    return [
        boundary(anchor, interval, count, n, tz).astimezone(tz).replace(tzinfo=None).isoformat()
        for n in range(k)
    ]


def exists(wall: datetime, tz: ZoneInfo) -> bool:
    aware = wall.replace(tzinfo=tz)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall


# --- month ends and leap years -------------------------------------------------------------


MONTH_END_TABLE = [
    pytest.param(
        "2026-01-31T10:00:00",
        "month",
        1,
        [
            "2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30",
            "2026-07-31", "2026-08-31", "2026-09-30", "2026-10-31", "2026-11-30", "2026-12-31",
            "2027-01-31", "2027-02-28",
        ],
        id="jan31-non-leap",
    ),
    pytest.param(
        "2024-01-31T10:00:00",
        "month",
        1,
        ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31", "2024-06-30"],
        id="jan31-leap",
    ),
    pytest.param(
        "2025-01-30T10:00:00",
        "month",
        1,
        ["2025-01-30", "2025-02-28", "2025-03-30", "2025-04-30", "2025-05-30", "2025-06-30"],
        id="jan30-non-leap",
    ),
    pytest.param(
        "2024-01-30T10:00:00",
        "month",
        1,
        ["2024-01-30", "2024-02-29", "2024-03-30", "2024-04-30", "2024-05-30"],
        id="jan30-leap",
    ),
    pytest.param(
        "2025-01-29T10:00:00",
        "month",
        1,
        ["2025-01-29", "2025-02-28", "2025-03-29", "2025-04-29"],
        id="jan29-non-leap",
    ),
    pytest.param(
        "2024-01-29T10:00:00",
        "month",
        1,
        ["2024-01-29", "2024-02-29", "2024-03-29", "2024-04-29"],
        id="jan29-leap",
    ),
    pytest.param(
        "2025-02-28T10:00:00",
        "month",
        1,
        ["2025-02-28", "2025-03-28", "2025-04-28"],
        id="feb28-keeps-the-28th",
    ),
    pytest.param(
        "2024-02-29T10:00:00",
        "month",
        1,
        ["2024-02-29", "2024-03-29", "2024-04-29"],
        id="feb29-monthly",
    ),
    pytest.param(
        "2024-02-29T10:00:00",
        "year",
        1,
        ["2024-02-29", "2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29", "2029-02-28"],
        id="feb29-yearly",
    ),
    pytest.param(
        "2096-02-29T10:00:00",
        "year",
        4,
        ["2096-02-29", "2100-02-28", "2104-02-29"],
        id="feb29-every-4-years-skips-2100",
    ),
    pytest.param(
        "2025-08-31T10:00:00",
        "month",
        3,
        ["2025-08-31", "2025-11-30", "2026-02-28", "2026-05-31", "2026-08-31", "2026-11-30"],
        id="aug31-quarterly",
    ),
    pytest.param(
        "2023-08-31T10:00:00",
        "month",
        3,
        ["2023-08-31", "2023-11-30", "2024-02-29", "2024-05-31"],
        id="aug31-quarterly-leap",
    ),
    pytest.param(
        "2026-03-31T10:00:00",
        "month",
        12,
        ["2026-03-31", "2027-03-31", "2028-03-31"],
        id="mar31-every-12-months",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("anchor", "interval", "count", "dates"), MONTH_END_TABLE)
@pytest.mark.parametrize("tz", [UTC_ZONE, KOLKATA, TOKYO, SAO_PAULO], ids=str)
def test_month_end_anchors(
    anchor: str, interval: Interval, count: int, dates: list[str], tz: ZoneInfo
) -> None:
    expected = [f"{day}T10:00:00" for day in dates]
    assert local_walls(local(anchor, tz), interval, count, len(dates), tz) == expected


def test_boundaries_come_from_the_anchor_not_the_previous_boundary() -> None:
    anchor = datetime(2026, 1, 31, 10, tzinfo=UTC)
    # Repeated addition would give Feb 28 → Mar 28; from the anchor, Mar 31 comes back.
    assert boundary(anchor, "month", 1, 2, UTC_ZONE) == datetime(2026, 3, 31, 10, tzinfo=UTC)
    assert boundary(anchor, "month", 1, 1200, UTC_ZONE) == datetime(2126, 1, 31, 10, tzinfo=UTC)


# --- every interval kind and count -----------------------------------------------------------


INTERVAL_TABLE = [
    ("day", 1, ["2026-01-31", "2026-02-01", "2026-02-02", "2026-02-03"]),
    ("day", 2, ["2026-01-31", "2026-02-02", "2026-02-04", "2026-02-06"]),
    ("day", 3, ["2026-01-31", "2026-02-03", "2026-02-06", "2026-02-09"]),
    ("day", 12, ["2026-01-31", "2026-02-12", "2026-02-24", "2026-03-08"]),
    ("week", 1, ["2026-01-31", "2026-02-07", "2026-02-14", "2026-02-21"]),
    ("week", 2, ["2026-01-31", "2026-02-14", "2026-02-28", "2026-03-14"]),
    ("week", 3, ["2026-01-31", "2026-02-21", "2026-03-14", "2026-04-04"]),
    ("week", 12, ["2026-01-31", "2026-04-25", "2026-07-18", "2026-10-10"]),
    ("month", 1, ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]),
    ("month", 2, ["2026-01-31", "2026-03-31", "2026-05-31", "2026-07-31"]),
    ("month", 3, ["2026-01-31", "2026-04-30", "2026-07-31", "2026-10-31"]),
    ("month", 12, ["2026-01-31", "2027-01-31", "2028-01-31", "2029-01-31"]),
    ("year", 1, ["2026-01-31", "2027-01-31", "2028-01-31", "2029-01-31"]),
    ("year", 2, ["2026-01-31", "2028-01-31", "2030-01-31", "2032-01-31"]),
    ("year", 3, ["2026-01-31", "2029-01-31", "2032-01-31", "2035-01-31"]),
    ("year", 12, ["2026-01-31", "2038-01-31", "2050-01-31", "2062-01-31"]),
]


@pytest.mark.parametrize(("interval", "count", "dates"), INTERVAL_TABLE)
@pytest.mark.parametrize("tz", [UTC_ZONE, KOLKATA, TOKYO, SAO_PAULO, BERLIN, NEW_YORK], ids=str)
def test_every_interval_kind_and_count(
    interval: Interval, count: int, dates: list[str], tz: ZoneInfo
) -> None:
    anchor = local("2026-01-31T09:15:30.250000", tz)
    walls = local_walls(anchor, interval, count, len(dates), tz)
    assert walls == [f"{day}T09:15:30.250000" for day in dates]


@pytest.mark.parametrize("interval", INTERVALS)
@pytest.mark.parametrize("tz", ZONES, ids=str)
@pytest.mark.parametrize("clock", [time(0, 0), time(0, 30), time(12, 0), time(23, 59, 59, 999999)])
def test_time_of_day_is_kept(interval: Interval, tz: ZoneInfo, clock: time) -> None:
    anchor = datetime.combine(datetime(2030, 5, 31).date(), clock, tzinfo=tz)
    for n in range(0, 40, 3):
        wall = boundary(anchor, interval, 1, n, tz).astimezone(tz)
        assert wall.time() == clock


# --- DST-free zones: the local date is what anchors -------------------------------------------


def test_kolkata_anchor_on_local_date_not_utc_date() -> None:
    # Jan 31 00:30 IST is Jan 30 19:00 UTC: the subscription renews on the last day of each
    # month in India, which is the day before in UTC.
    anchor = datetime(2026, 1, 30, 19, 0, tzinfo=UTC)
    assert anchor.astimezone(KOLKATA).isoformat() == "2026-01-31T00:30:00+05:30"
    expected_utc = [
        "2026-01-30T19:00:00+00:00",
        "2026-02-27T19:00:00+00:00",
        "2026-03-30T19:00:00+00:00",
        "2026-04-29T19:00:00+00:00",
        "2026-05-30T19:00:00+00:00",
    ]
    got = [boundary(anchor, "month", 1, n, KOLKATA).isoformat() for n in range(5)]
    assert got == expected_utc
    # The same instant anchored in UTC is "the 30th", a different schedule.
    assert boundary(anchor, "month", 1, 1, UTC_ZONE).isoformat() == "2026-02-28T19:00:00+00:00"


def test_tokyo_and_sao_paulo_cross_the_utc_date_line() -> None:
    tokyo_anchor = datetime(2026, 1, 30, 23, 0, tzinfo=UTC)  # Jan 31 08:00 JST
    assert [boundary(tokyo_anchor, "month", 1, n, TOKYO).isoformat() for n in range(3)] == [
        "2026-01-30T23:00:00+00:00",
        "2026-02-27T23:00:00+00:00",
        "2026-03-30T23:00:00+00:00",
    ]
    sp_anchor = datetime(2026, 2, 1, 1, 0, tzinfo=UTC)  # Jan 31 22:00 -03:00, no DST since 2019
    assert [boundary(sp_anchor, "month", 1, n, SAO_PAULO).isoformat() for n in range(4)] == [
        "2026-02-01T01:00:00+00:00",
        "2026-03-01T01:00:00+00:00",
        "2026-04-01T01:00:00+00:00",
        "2026-05-01T01:00:00+00:00",
    ]


def test_results_are_utc_and_boundary_zero_is_the_anchor() -> None:
    anchor = local("2026-01-31T10:00:00", KOLKATA)
    assert boundary(anchor, "month", 1, 0, KOLKATA) == anchor
    assert boundary(anchor, "month", 1, 0, KOLKATA).utcoffset() == timedelta(0)
    assert boundary(anchor, "month", 1, 3, KOLKATA).tzinfo is UTC


# --- DST zones ------------------------------------------------------------------------------


def test_berlin_spring_forward_lands_on_the_jump() -> None:
    # 2026-03-29: 02:00 CET jumps to 03:00 CEST, so 02:30 does not exist that day.
    anchor = local("2026-03-27T02:30:00", BERLIN)
    got = [boundary(anchor, "day", 1, n, BERLIN).astimezone(BERLIN).isoformat() for n in range(4)]
    assert got == [
        "2026-03-27T02:30:00+01:00",
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00",
    ]


def test_berlin_fall_back_takes_the_first_occurrence() -> None:
    # 2026-10-25: 03:00 CEST falls back to 02:00 CET, so 02:30 happens twice.
    anchor = local("2026-10-24T02:30:00", BERLIN)
    got = [boundary(anchor, "day", 1, n, BERLIN).isoformat() for n in range(3)]
    assert got == [
        "2026-10-24T00:30:00+00:00",
        "2026-10-25T00:30:00+00:00",  # 02:30 CEST, the first 02:30
        "2026-10-26T01:30:00+00:00",
    ]


def test_new_york_monthly_across_both_transitions() -> None:
    spring = local("2026-02-08T02:15:00", NEW_YORK)  # 2026-03-08 02:15 does not exist
    assert [boundary(spring, "month", 1, n, NEW_YORK).isoformat() for n in range(3)] == [
        "2026-02-08T07:15:00+00:00",
        "2026-03-08T07:00:00+00:00",  # 03:00 EDT, the moment the clocks jump
        "2026-04-08T06:15:00+00:00",
    ]
    fall = local("2026-10-01T01:30:00", NEW_YORK)  # 2026-11-01 01:30 happens twice
    assert [boundary(fall, "month", 1, n, NEW_YORK).isoformat() for n in range(3)] == [
        "2026-10-01T05:30:00+00:00",
        "2026-11-01T05:30:00+00:00",  # 01:30 EDT
        "2026-12-01T06:30:00+00:00",
    ]


def test_anchor_in_the_second_occurrence_of_an_hour_stays_put() -> None:
    anchor = datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK, fold=1)  # 01:30 EST, 06:30 UTC
    assert boundary(anchor, "day", 1, 0, NEW_YORK) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert boundary(anchor, "day", 1, 1, NEW_YORK) == datetime(2026, 11, 2, 6, 30, tzinfo=UTC)
    assert period_at(anchor, "day", 1, anchor, NEW_YORK).index == 0


@pytest.mark.parametrize("tz", [BERLIN, NEW_YORK, APIA, ZoneInfo("Australia/Lord_Howe")], ids=str)
@pytest.mark.parametrize("clock", [time(0, 0), time(1, 30), time(2, 0), time(2, 30), time(3, 0)])
def test_dst_boundaries_strictly_increase_and_keep_time_when_it_exists(
    tz: ZoneInfo, clock: time
) -> None:
    anchor = datetime.combine(datetime(2009, 1, 1).date(), clock, tzinfo=tz)
    previous = None
    for n in range(0, 6 * 366):
        instant = boundary(anchor, "day", 1, n, tz)
        assert previous is None or previous < instant
        previous = instant
        wall = datetime.combine(anchor.date() + timedelta(days=n), clock)
        if exists(wall, tz):
            assert instant.astimezone(tz).replace(tzinfo=None) == wall
        elif (tz, wall) == (APIA, datetime(2011, 12, 30)):
            # The one skipped whole day: one second before the jump, see the Samoa test.
            assert instant == datetime(2011, 12, 30, 9, 59, 59, tzinfo=UTC)
        else:
            # A skipped time maps to the jump: from it the clock reads past the wall time, just
            # before it the clock had not reached it.
            assert instant.astimezone(tz).replace(tzinfo=None) > wall
            before = (instant - timedelta(microseconds=1)).astimezone(tz).replace(tzinfo=None)
            assert before < wall


def test_samoa_skipped_day_keeps_daily_boundaries_apart() -> None:
    # Samoa jumped from -10:00 to +14:00 at the end of 2011-12-29: Dec 30 never happened there.
    anchor = local("2011-12-28T10:00:00", APIA)
    got = [boundary(anchor, "day", 1, n, APIA) for n in range(5)]
    assert got == sorted(set(got))
    assert got[2] == datetime(2011, 12, 30, 10, 0, tzinfo=UTC)  # the instant of the jump
    assert got[3].astimezone(APIA).isoformat() == "2011-12-31T10:00:00+14:00"


def test_samoa_skipped_day_at_midnight_is_a_one_second_period() -> None:
    # Dec 30 00:00 would map to the jump, which is also Dec 31 00:00 +14:00.
    anchor = local("2011-12-28T00:00:00", APIA)
    got = [boundary(anchor, "day", 1, n, APIA) for n in range(5)]
    assert [b.isoformat() for b in got] == [
        "2011-12-28T10:00:00+00:00",
        "2011-12-29T10:00:00+00:00",
        "2011-12-30T09:59:59+00:00",
        "2011-12-30T10:00:00+00:00",
        "2011-12-31T10:00:00+00:00",
    ]
    skipped = period_at(anchor, "day", 1, got[2], APIA)
    assert skipped == Period(2, got[2], got[3])
    assert [p.index for p in periods_between(anchor, "day", 1, got[1], got[4], APIA)] == [1, 2, 3]


# --- period_at and periods_between ------------------------------------------------------------


def test_period_at_examples() -> None:
    anchor = datetime(2026, 1, 31, 10, tzinfo=UTC)
    feb = Period(1, datetime(2026, 2, 28, 10, tzinfo=UTC), datetime(2026, 3, 31, 10, tzinfo=UTC))
    assert period_at(anchor, "month", 1, anchor, UTC_ZONE).index == 0
    assert period_at(anchor, "month", 1, feb.start, UTC_ZONE) == feb
    assert period_at(anchor, "month", 1, datetime(2026, 3, 15, tzinfo=UTC), UTC_ZONE) == feb
    last_moment = feb.end - timedelta(microseconds=1)
    assert period_at(anchor, "month", 1, last_moment, UTC_ZONE) == feb
    assert period_at(anchor, "month", 1, feb.end, UTC_ZONE).index == 2


def test_period_at_decades_later_does_not_walk_every_period(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = 0
    real_resolve = periods._resolve

    def counting(wall: datetime, tz: ZoneInfo) -> tuple[datetime, bool]:
        nonlocal calls
        calls += 1
        return real_resolve(wall, tz)

    monkeypatch.setattr(periods, "_resolve", counting)
    anchor = local("1970-01-01T23:30:00", NEW_YORK)
    at = datetime(2069, 7, 4, 3, 29, tzinfo=UTC)  # 23:29 EDT on Jul 3: one minute before renewal
    period = period_at(anchor, "day", 1, at, NEW_YORK)
    assert period.start.astimezone(NEW_YORK).isoformat() == "2069-07-02T23:30:00-04:00"
    assert period.end.astimezone(NEW_YORK).isoformat() == "2069-07-03T23:30:00-04:00"
    assert period.index == (datetime(2069, 7, 2) - datetime(1970, 1, 1)).days
    assert calls <= 4


def test_periods_between_examples() -> None:
    anchor = datetime(2026, 1, 31, 10, tzinfo=UTC)
    got = periods_between(
        anchor,
        "month",
        1,
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 5, 31, 10, tzinfo=UTC),
        UTC_ZONE,
    )
    assert [(p.index, p.start.date().isoformat(), p.end.date().isoformat()) for p in got] == [
        (1, "2026-02-28", "2026-03-31"),
        (2, "2026-03-31", "2026-04-30"),
        (3, "2026-04-30", "2026-05-31"),  # ends exactly where the range ends: no extra period
    ]
    # Time before the anchor belongs to no period.
    before = periods_between(anchor, "month", 1, datetime(2020, 1, 1, tzinfo=UTC), anchor, UTC_ZONE)
    assert before == []
    from_before = periods_between(
        anchor, "month", 1, datetime(2020, 1, 1, tzinfo=UTC), anchor + timedelta(days=1), UTC_ZONE
    )
    assert [p.index for p in from_before] == [0]
    assert periods_between(anchor, "day", 1, anchor, anchor, UTC_ZONE) == []
    assert periods_between(anchor, "day", 1, anchor + timedelta(days=2), anchor, UTC_ZONE) == []


# --- validation -------------------------------------------------------------------------------


NAIVE = datetime(2026, 1, 31, 10)
AWARE = datetime(2026, 1, 31, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: boundary(NAIVE, "month", 1, 1, UTC_ZONE), id="naive-anchor"),
        pytest.param(lambda: boundary(AWARE, "month", 0, 1, UTC_ZONE), id="count-0"),
        pytest.param(lambda: boundary(AWARE, "month", -1, 1, UTC_ZONE), id="count-negative"),
        pytest.param(lambda: boundary(AWARE, "month", True, 1, UTC_ZONE), id="count-bool"),
        pytest.param(
            lambda: boundary(AWARE, "month", 1.0, 1, UTC_ZONE),  # type: ignore[arg-type]
            id="count-float",
        ),
        pytest.param(
            lambda: boundary(AWARE, "quarter", 1, 1, UTC_ZONE),  # type: ignore[arg-type]
            id="bad-interval",
        ),
        pytest.param(lambda: boundary(AWARE, "month", 1, -1, UTC_ZONE), id="negative-n"),
        pytest.param(lambda: boundary(AWARE, "year", 1, 9000, UTC_ZONE), id="out-of-range"),
        pytest.param(lambda: boundary(AWARE, "day", 1, 10**7, UTC_ZONE), id="out-of-range-day"),
        pytest.param(lambda: period_at(AWARE, "month", 1, NAIVE, UTC_ZONE), id="naive-at"),
        pytest.param(
            lambda: period_at(AWARE, "month", 1, AWARE - timedelta(seconds=1), UTC_ZONE),
            id="at-before-anchor",
        ),
        pytest.param(lambda: period_at(NAIVE, "month", 1, AWARE, UTC_ZONE), id="naive-anchor-at"),
        pytest.param(
            lambda: periods_between(AWARE, "month", 1, NAIVE, AWARE, UTC_ZONE), id="naive-start"
        ),
        pytest.param(
            lambda: periods_between(AWARE, "month", 1, AWARE, NAIVE, UTC_ZONE), id="naive-end"
        ),
        pytest.param(
            lambda: periods_between(AWARE, "week", 0, AWARE, AWARE, UTC_ZONE), id="between-count"
        ),
    ],
)
def test_invalid_input_is_refused(call: object) -> None:
    assert callable(call)
    with pytest.raises(ValueError):  # noqa: PT011 - every case is a plain ValueError
        call()


# --- properties -------------------------------------------------------------------------------


zones = st.sampled_from(ZONES)
intervals = st.sampled_from(INTERVALS)
counts = st.sampled_from([1, 2, 3, 12]) | st.integers(1, 12)
anchors = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2060, 12, 31), timezones=st.just(UTC)
)
spans = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60 * 366))


@settings(max_examples=150, deadline=None)
@given(anchor=anchors, interval=intervals, count=counts, n=st.integers(0, 400), tz=zones)
def test_periods_tile_time(
    anchor: datetime, interval: Interval, count: int, n: int, tz: ZoneInfo
) -> None:
    start = boundary(anchor, interval, count, n, tz)
    end = boundary(anchor, interval, count, n + 1, tz)
    assert start < end
    assert period_at(anchor, interval, count, start, tz) == Period(n, start, end)
    assert period_at(anchor, interval, count, end - timedelta(microseconds=1), tz).index == n


@settings(max_examples=150, deadline=None)
@given(anchor=anchors, interval=intervals, count=counts, offset=spans, tz=zones)
def test_period_at_contains_the_instant(
    anchor: datetime, interval: Interval, count: int, offset: timedelta, tz: ZoneInfo
) -> None:
    at = anchor + offset
    period = period_at(anchor, interval, count, at, tz)
    assert period.start <= at < period.end
    assert period.start == boundary(anchor, interval, count, period.index, tz)
    assert period.end == boundary(anchor, interval, count, period.index + 1, tz)


@settings(max_examples=100, deadline=None)
@given(
    anchor=anchors,
    interval=intervals,
    count=counts,
    start_offset=st.timedeltas(min_value=timedelta(days=-400), max_value=timedelta(days=20_000)),
    length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
    tz=zones,
)
def test_periods_between_cover_without_gap_or_overlap(
    anchor: datetime,
    interval: Interval,
    count: int,
    start_offset: timedelta,
    length: timedelta,
    tz: ZoneInfo,
) -> None:
    start = anchor + start_offset
    end = start + length
    got = periods_between(anchor, interval, count, start, end, tz)
    covered_from = max(start, anchor)
    if end <= covered_from:
        assert got == []
        return
    assert got[0].start <= covered_from < got[0].end
    assert got[-1].start < end <= got[-1].end
    for earlier, later in itertools.pairwise(got):
        assert earlier.end == later.start
        assert later.index == earlier.index + 1
    assert all(p.start < p.end for p in got)


@settings(max_examples=150, deadline=None)
@given(
    year=st.integers(1971, 2060),
    month=st.sampled_from([1, 3, 5, 7, 8, 10, 12]),
    clock=st.times(),
    n=st.integers(0, 1200),
    tz=st.sampled_from([UTC_ZONE, KOLKATA, TOKYO, SAO_PAULO, BERLIN, NEW_YORK]),
)
def test_day_31_anchor_lands_on_month_end(
    year: int, month: int, clock: time, n: int, tz: ZoneInfo
) -> None:
    wall = datetime(year, month, 31, clock.hour, clock.minute, clock.second, clock.microsecond)
    assume(exists(wall, tz))
    anchor = wall.replace(tzinfo=tz)
    got = boundary(anchor, "month", 1, n, tz).astimezone(tz)
    last_day = calendar.monthrange(got.year, got.month)[1]
    assert got.day == min(31, last_day)
    target_month = (year * 12 + month - 1 + n) % 12 + 1
    assert got.month == target_month
    if exists(datetime.combine(got.date(), wall.time()), tz):
        assert got.time() == wall.time()
