"""When a failed webhook delivery is tried again, and when an endpoint has failed for good.

Pure rules (no IO). The waits grow roughly exponentially, so a receiver that is down for a
deploy gets its events within seconds of coming back, and one that is down for a weekend still
gets them within hours, for up to about three days (API.md "Webhooks"):

    try:   1    2     3     4      5      6    7    8     9     10    11
    wait:  -    5 s   1 min 5 min  30 min 2 h  5 h  10 h  14 h  20 h  20 h
    total: 0    5 s   65 s  6 min  36 min 2.6h 7.6h 17.6h 31.6h 51.6h 71.6h

After the eleventh try fails the delivery is `failed`. The endpoint is disabled (reason
`failing`) when a delivery fails for good and the endpoint has not answered any try with 2xx
since that delivery's first try: by then every try to it has failed for as long as the whole
schedule (about three days), and sending more only queues more work that cannot succeed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=20),
)


def next_delay(failed_tries: int, delays: tuple[timedelta, ...] = RETRY_DELAYS) -> timedelta | None:
    """The wait before the next try after `failed_tries` scheduled tries all failed; None when
    the schedule is used up."""
    if failed_tries < 1:
        raise ValueError("a retry follows at least one failed try")
    if failed_tries > len(delays):
        return None
    return delays[failed_tries - 1]


def max_tries(delays: tuple[timedelta, ...] = RETRY_DELAYS) -> int:
    return len(delays) + 1


def should_disable(first_try_at: datetime, last_success_at: datetime | None) -> bool:
    """Whether an endpoint whose delivery just failed for good is to be disabled: no 2xx from
    it since that delivery's first try."""
    return last_success_at is None or last_success_at < first_try_at
