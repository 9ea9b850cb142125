"""The pure rules of outbound webhooks: the retry schedule, the disable rule, URLs, filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hisaab.core.errors import HisaabError
from hisaab.webhooks import rules, schedule
from hisaab.webhooks.service import EVENT_TYPES

S, M, H = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1)


@pytest.mark.parametrize(
    ("failed_tries", "wait", "since_first_try"),
    [
        (1, 5 * S, 5 * S),
        (2, 1 * M, 65 * S),
        (3, 5 * M, 6 * M + 5 * S),
        (4, 30 * M, 36 * M + 5 * S),
        (5, 2 * H, 2 * H + 36 * M + 5 * S),
        (6, 5 * H, 7 * H + 36 * M + 5 * S),
        (7, 10 * H, 17 * H + 36 * M + 5 * S),
        (8, 14 * H, 31 * H + 36 * M + 5 * S),
        (9, 20 * H, 51 * H + 36 * M + 5 * S),
        (10, 20 * H, 71 * H + 36 * M + 5 * S),
    ],
)
def test_retry_waits(failed_tries: int, wait: timedelta, since_first_try: timedelta) -> None:
    assert schedule.next_delay(failed_tries) == wait
    waits = [schedule.next_delay(n) for n in range(1, failed_tries + 1)]
    assert sum((w for w in waits if w is not None), timedelta()) == since_first_try


@pytest.mark.parametrize("failed_tries", [11, 12, 100])
def test_the_schedule_ends_after_eleven_tries(failed_tries: int) -> None:
    assert schedule.next_delay(failed_tries) is None
    assert schedule.max_tries() == 11


def test_the_schedule_spans_about_three_days_and_never_shrinks() -> None:
    total = sum(schedule.RETRY_DELAYS, timedelta())
    assert timedelta(days=2, hours=18) <= total <= timedelta(days=3)
    assert list(schedule.RETRY_DELAYS) == sorted(schedule.RETRY_DELAYS)


@pytest.mark.parametrize("failed_tries", [0, -1])
def test_a_retry_needs_a_failed_try(failed_tries: int) -> None:
    with pytest.raises(ValueError, match="at least one failed try"):
        schedule.next_delay(failed_tries)


def test_an_injected_schedule_is_used() -> None:
    short = (timedelta(0), timedelta(seconds=1))
    assert [schedule.next_delay(n, short) for n in (1, 2, 3)] == [timedelta(0), S, None]
    assert schedule.max_tries(short) == 3


T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("last_success_at", "disable"),
    [
        (None, True),  # never answered 2xx
        (T0 - timedelta(seconds=1), True),  # last success before this delivery's first try
        (T0, False),
        (T0 + timedelta(days=2), False),  # a success while this delivery was failing
    ],
)
def test_disable_rule(last_success_at: datetime | None, disable: bool) -> None:
    assert schedule.should_disable(T0, last_success_at) is disable


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hooks",
        "http://127.0.0.1:8080/h?x=1",
        "HTTPS://Example.COM",
        "http://[::1]:9000/",
        "https://user:pass@example.com/h",
    ],
)
def test_good_urls(url: str) -> None:
    assert rules.check_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "example.com/hooks",
        "https://",
        "https:///path",
        "mailto:a@example.com",
        "javascript:alert(1)",
        "http://example.com:99999/",
        "http://example.com:0/",
        "http://exa mple.com/",
        "http://example.com/\n",
        "http://example.com/#frag",
        "http://[::1/",
        "",
    ],
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(HisaabError) as raised:
        rules.check_url(url)
    assert (raised.value.code, raised.value.status) == ("invalid_url", 422)


@pytest.mark.parametrize(
    ("requested", "stored"),
    [
        (["*"], ["*"]),
        (["invoice.paid", "*"], ["*"]),
        (["invoice.paid", "payment.failed", "invoice.paid"], ["invoice.paid", "payment.failed"]),
        (list(EVENT_TYPES), list(EVENT_TYPES)),
    ],
)
def test_event_filter(requested: list[str], stored: list[str]) -> None:
    assert rules.event_filter(requested, EVENT_TYPES) == stored


@pytest.mark.parametrize("requested", [["invoice.payed"], ["invoice.paid", "Invoice.Paid"], ["**"]])
def test_unknown_event_types_are_refused(requested: list[str]) -> None:
    with pytest.raises(HisaabError) as raised:
        rules.event_filter(requested, EVENT_TYPES)
    assert (raised.value.code, raised.value.status) == ("unknown_event_type", 422)


@pytest.mark.parametrize(
    ("event_filter", "event_type", "matches"),
    [
        (["*"], "invoice.paid", True),
        (["invoice.paid"], "invoice.paid", True),
        (["invoice.paid"], "invoice.voided", False),
        (["customer.created", "invoice.voided"], "invoice.voided", True),
    ],
)
def test_matches(event_filter: list[str], event_type: str, matches: bool) -> None:
    assert rules.matches(event_filter, event_type) is matches
