"""The subscription state machine and the next timed action, checked against explicit tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hisaab.core.errors import HisaabError
from hisaab.subscriptions.lifecycle import (
    BILLING,
    CHANGEABLE,
    STATUSES,
    TRANSITIONS,
    TRIAL_WILL_END_NOTICE,
    Action,
    Timeline,
    check_transition,
    next_action,
    trial_reminder_at,
)

IST = ZoneInfo("Asia/Kolkata")
T0 = datetime(2026, 1, 10, 9, 30, tzinfo=UTC)
DAY = timedelta(days=1)

# --- the state machine, written out by hand --------------------------------------------------
#
# Rows are the current status, columns the target; "Y" is a legal move, "." a 409. This table is
# deliberately NOT derived from TRANSITIONS: an accidental edit of either shows up as a failure.
COLUMNS = (
    "not_started",
    "trialing",
    "active",
    "incomplete",
    "past_due",
    "unpaid",
    "paused",
    "canceled",
)
MATRIX = {
    #               n_s  tri  act  inc  p_d  unp  pau  can
    "not_started": " .    Y    Y    Y    .    .    .    Y ",
    "trialing": "    .    .    Y    Y    .    .    .    Y ",
    "active": "      .    .    .    Y    Y    Y    Y    Y ",
    "incomplete": "  .    .    Y    .    .    .    .    Y ",
    "past_due": "    .    .    Y    .    .    Y    Y    Y ",
    "unpaid": "      .    .    Y    .    .    .    .    Y ",
    "paused": "      .    .    Y    .    .    .    .    Y ",
    "canceled": "    .    .    .    .    .    .    .    . ",
}
EXPECTED_LEGAL = {
    (current, target)
    for current, row in MATRIX.items()
    for target, mark in zip(COLUMNS, row.split(), strict=True)
    if mark == "Y"
}
ALL_PAIRS = [(current, target) for current in COLUMNS for target in COLUMNS]


def test_statuses_are_the_api_statuses_plus_not_started() -> None:
    api = {"trialing", "active", "incomplete", "past_due", "unpaid", "paused", "canceled"}
    assert set(STATUSES) == api | {"not_started"}
    assert len(STATUSES) == len(set(STATUSES)) == 8
    assert set(COLUMNS) == set(MATRIX) == set(STATUSES)


def test_transitions_cover_every_status_and_name_only_statuses() -> None:
    assert set(TRANSITIONS) == set(STATUSES)
    for targets in TRANSITIONS.values():
        assert targets <= set(STATUSES)


def test_the_hand_written_table_has_every_pair_and_21_legal_moves() -> None:
    assert len(ALL_PAIRS) == 64
    assert len(EXPECTED_LEGAL) == 22


@pytest.mark.parametrize(
    ("current", "target"),
    [pytest.param(c, t, id=f"{c}->{t}") for c, t in ALL_PAIRS if (c, t) in EXPECTED_LEGAL],
)
def test_legal_transition_passes(current: str, target: str) -> None:
    check_transition(current, target)
    assert target in TRANSITIONS[current]


@pytest.mark.parametrize(
    ("current", "target"),
    [pytest.param(c, t, id=f"{c}->{t}") for c, t in ALL_PAIRS if (c, t) not in EXPECTED_LEGAL],
)
def test_illegal_transition_is_a_409_invalid_state(current: str, target: str) -> None:
    with pytest.raises(HisaabError) as info:
        check_transition(current, target)
    error = info.value
    assert error.code == "invalid_state"
    assert error.status == 409
    assert error.detail == f"A subscription that is {current} cannot become {target}."
    assert target not in TRANSITIONS[current]


def test_illegal_transition_renders_as_a_conflict_problem() -> None:
    with pytest.raises(HisaabError) as info:
        check_transition("canceled", "active")
    problem = info.value.problem()
    assert problem["status"] == 409
    assert problem["code"] == "invalid_state"
    assert problem["title"] == "Conflict"


@pytest.mark.parametrize("target", COLUMNS)
def test_canceled_is_terminal(target: str) -> None:
    assert TRANSITIONS["canceled"] == frozenset()
    with pytest.raises(HisaabError, match="invalid_state"):
        check_transition("canceled", target)


@pytest.mark.parametrize("status", [s for s in COLUMNS if s != "canceled"])
def test_every_other_status_can_be_canceled(status: str) -> None:
    check_transition(status, "canceled")


@pytest.mark.parametrize("status", COLUMNS)
def test_no_status_transitions_to_itself(status: str) -> None:
    with pytest.raises(HisaabError):
        check_transition(status, status)


@pytest.mark.parametrize("status", COLUMNS)
def test_nothing_returns_to_not_started(status: str) -> None:
    with pytest.raises(HisaabError):
        check_transition(status, "not_started")


def test_billing_changeable_and_notice_constants() -> None:
    assert frozenset({"active", "past_due", "unpaid"}) == BILLING
    assert frozenset({"not_started", "trialing", "active", "past_due"}) == CHANGEABLE
    assert timedelta(days=3) == TRIAL_WILL_END_NOTICE


# --- next_action: table ----------------------------------------------------------------------


def timeline(
    status: str,
    *,
    start_at: datetime = T0,
    trial_end: datetime | None = None,
    trial_will_end_at: datetime | None = None,
    current_period_end: datetime | None = None,
) -> Timeline:
    return Timeline(status, start_at, trial_end, trial_will_end_at, current_period_end)


FUTURE_START = T0 + 5 * DAY
TRIAL_END = T0 + 14 * DAY
REMINDER = TRIAL_END - 3 * DAY
PERIOD_END = T0 + 31 * DAY


@pytest.mark.parametrize(
    ("tl", "expected"),
    [
        pytest.param(
            timeline("not_started", start_at=FUTURE_START),
            Action("start", FUTURE_START),
            id="not_started-starts-at-start_at",
        ),
        pytest.param(
            timeline(
                "not_started",
                start_at=FUTURE_START,
                trial_end=FUTURE_START + 14 * DAY,
                trial_will_end_at=FUTURE_START + 11 * DAY,
                current_period_end=FUTURE_START + 31 * DAY,
            ),
            Action("start", FUTURE_START),
            id="not_started-start-before-trial-fields",
        ),
        pytest.param(
            timeline("trialing", trial_end=TRIAL_END, trial_will_end_at=REMINDER),
            Action("trial_will_end", REMINDER),
            id="trialing-reminder-pending",
        ),
        pytest.param(
            timeline("trialing", trial_end=TRIAL_END, trial_will_end_at=TRIAL_END),
            Action("trial_will_end", TRIAL_END),
            id="trialing-reminder-same-instant-as-end",
        ),
        pytest.param(
            timeline("trialing", trial_end=T0 + 2 * DAY, trial_will_end_at=T0),
            Action("trial_will_end", T0),
            id="trialing-short-trial-reminded-at-start",
        ),
        pytest.param(
            timeline("trialing", trial_end=TRIAL_END),
            Action("trial_end", TRIAL_END),
            id="trialing-after-reminder",
        ),
        pytest.param(
            timeline("trialing", trial_end=TRIAL_END, current_period_end=PERIOD_END),
            Action("trial_end", TRIAL_END),
            id="trialing-ignores-period-end",
        ),
        *[
            pytest.param(
                timeline(
                    status,
                    trial_end=TRIAL_END,
                    trial_will_end_at=REMINDER,
                    current_period_end=PERIOD_END,
                ),
                Action("period_end", PERIOD_END),
                id=f"{status}-renews-at-period-end",
            )
            for status in ("active", "past_due", "unpaid")
        ],
        *[
            pytest.param(
                timeline(
                    status,
                    trial_end=TRIAL_END,
                    trial_will_end_at=REMINDER,
                    current_period_end=PERIOD_END,
                ),
                None,
                id=f"{status}-waits-for-a-request",
            )
            for status in ("paused", "canceled", "incomplete")
        ],
    ],
)
def test_next_action(tl: Timeline, expected: Action | None) -> None:
    assert next_action(tl) == expected


def test_every_status_has_a_next_action_case() -> None:
    # Keeps the table above honest if a status is ever added.
    assert set(STATUSES) == {
        "not_started",
        "trialing",
        "active",
        "past_due",
        "unpaid",
        "paused",
        "canceled",
        "incomplete",
    }


# --- trial_reminder_at: table ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "trial_end", "expected"),
    [
        pytest.param(T0, T0 + 14 * DAY, T0 + 11 * DAY, id="14-days"),
        pytest.param(T0, T0 + 30 * DAY, T0 + 27 * DAY, id="30-days"),
        pytest.param(
            T0,
            T0 + 3 * DAY + timedelta(seconds=1),
            T0 + timedelta(seconds=1),
            id="3-days-plus-a-second",
        ),
        pytest.param(T0, T0 + 3 * DAY, T0, id="exactly-3-days-at-start"),
        pytest.param(
            T0, T0 + 3 * DAY - timedelta(microseconds=1), T0, id="just-under-3-days-at-start"
        ),
        pytest.param(T0, T0 + 2 * DAY, T0, id="2-days-at-start"),
        pytest.param(T0, T0 + timedelta(hours=1), T0, id="1-hour-at-start"),
        pytest.param(T0, T0, T0, id="zero-length-at-start"),
        pytest.param(T0.astimezone(IST), T0 + 14 * DAY, T0 + 11 * DAY, id="mixed-zones-long"),
        pytest.param(T0.astimezone(IST), T0 + DAY, T0, id="mixed-zones-short"),
    ],
)
def test_trial_reminder_at(start: datetime, trial_end: datetime, expected: datetime) -> None:
    assert trial_reminder_at(start, trial_end) == expected


# --- properties ------------------------------------------------------------------------------

INSTANTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
TRIAL_LENGTHS = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400))
MAYBE_INSTANT = st.none() | INSTANTS


@given(start=INSTANTS, length=TRIAL_LENGTHS)
def test_trial_reminder_is_within_the_trial_and_at_most_three_days_early(
    start: datetime, length: timedelta
) -> None:
    trial_end = start + length
    reminder = trial_reminder_at(start, trial_end)
    assert start <= reminder <= trial_end
    assert trial_end - reminder <= timedelta(days=3)
    if length >= timedelta(days=3):
        assert reminder == trial_end - timedelta(days=3)
    else:
        assert reminder == start


@given(
    start=INSTANTS,
    trial_end=MAYBE_INSTANT,
    reminder=MAYBE_INSTANT,
    period_end=MAYBE_INSTANT,
)
def test_not_started_acts_no_earlier_than_its_start(
    start: datetime,
    trial_end: datetime | None,
    reminder: datetime | None,
    period_end: datetime | None,
) -> None:
    action = next_action(Timeline("not_started", start, trial_end, reminder, period_end))
    assert action is not None
    assert action.kind == "start"
    assert action.at >= start


@given(
    start=INSTANTS,
    length=TRIAL_LENGTHS,
    reminded=st.booleans(),
    period_end=MAYBE_INSTANT,
)
def test_trialing_acts_no_later_than_the_trial_end(
    start: datetime, length: timedelta, reminded: bool, period_end: datetime | None
) -> None:
    trial_end = start + length
    reminder = None if reminded else trial_reminder_at(start, trial_end)
    action = next_action(Timeline("trialing", start, trial_end, reminder, period_end))
    assert action is not None
    assert start <= action.at <= trial_end
    assert action.kind == ("trial_end" if reminded else "trial_will_end")


@given(start=INSTANTS, length=TRIAL_LENGTHS)
def test_a_trial_reminds_then_ends_in_order(start: datetime, length: timedelta) -> None:
    trial_end = start + length
    first = next_action(
        Timeline("trialing", start, trial_end, trial_reminder_at(start, trial_end), None)
    )
    second = next_action(Timeline("trialing", start, trial_end, None, None))
    assert first is not None
    assert second is not None
    assert (first.kind, second.kind) == ("trial_will_end", "trial_end")
    assert first.at <= second.at == trial_end


@given(
    status=st.sampled_from(["active", "past_due", "unpaid"]),
    start=INSTANTS,
    period_end=INSTANTS,
    trial_end=MAYBE_INSTANT,
    reminder=MAYBE_INSTANT,
)
def test_billing_statuses_act_at_period_end(
    status: str,
    start: datetime,
    period_end: datetime,
    trial_end: datetime | None,
    reminder: datetime | None,
) -> None:
    tl = Timeline(status, start, trial_end, reminder, period_end)
    assert next_action(tl) == Action("period_end", period_end)


@given(
    status=st.sampled_from(["paused", "canceled", "incomplete"]),
    start=INSTANTS,
    trial_end=MAYBE_INSTANT,
    reminder=MAYBE_INSTANT,
    period_end=MAYBE_INSTANT,
)
def test_waiting_statuses_have_no_timed_action(
    status: str,
    start: datetime,
    trial_end: datetime | None,
    reminder: datetime | None,
    period_end: datetime | None,
) -> None:
    assert next_action(Timeline(status, start, trial_end, reminder, period_end)) is None
