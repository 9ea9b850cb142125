"""The subscription state machine (API.md "Subscriptions") and what a subscription waits for.

Pure: the service asks here whether a status change is legal and which timed action comes
next, so the rules can be tested exhaustively without a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from hisaab.core.errors import HisaabError, conflict

Status = Literal[
    "not_started", "trialing", "active", "incomplete", "past_due", "unpaid", "paused", "canceled"
]
STATUSES: tuple[str, ...] = get_args(Status)

# Every legal move; anything else is a 409 `invalid_state`. `not_started` is a subscription
# created with a future start (an extension of API.md's list).
TRANSITIONS: dict[str, frozenset[str]] = {
    "not_started": frozenset({"trialing", "active", "incomplete", "canceled"}),
    "trialing": frozenset({"active", "incomplete", "canceled"}),
    "incomplete": frozenset({"active", "canceled"}),
    # `incomplete` from `active` only when the first invoice's payment fails (payments).
    "active": frozenset({"incomplete", "past_due", "unpaid", "paused", "canceled"}),
    "past_due": frozenset({"active", "unpaid", "paused", "canceled"}),
    "unpaid": frozenset({"active", "canceled"}),
    "paused": frozenset({"active", "canceled"}),
    "canceled": frozenset(),
}
# Statuses in which a period is running and renews at its end.
BILLING = frozenset({"active", "past_due", "unpaid"})
# Statuses in which the plan or quantity may change.
CHANGEABLE = frozenset({"not_started", "trialing", "active", "past_due"})
TRIAL_WILL_END_NOTICE = timedelta(days=3)

ActionKind = Literal["start", "trial_will_end", "trial_end", "period_end"]


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS[current]:
        raise invalid_state(current, f"become {target}")


def invalid_state(current: str, action: str) -> HisaabError:
    return conflict("invalid_state", f"A subscription that is {current} cannot {action}.")


@dataclass(frozen=True)
class Timeline:
    """The instants a subscription's next timed action depends on."""

    status: str
    start_at: datetime
    trial_end: datetime | None
    trial_will_end_at: datetime | None
    current_period_end: datetime | None


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    at: datetime


def next_action(timeline: Timeline) -> Action | None:
    """The earliest timed action still to do, or None when only a request can move it on.

    A trial's reminder comes before its end even when both are due at the same instant (a trial
    of three days or less is reminded at once), so the order within one instant is fixed.
    """
    if timeline.status == "not_started":
        return Action("start", timeline.start_at)
    if timeline.status == "trialing" and timeline.trial_end is not None:
        if timeline.trial_will_end_at is not None:
            return Action("trial_will_end", timeline.trial_will_end_at)
        return Action("trial_end", timeline.trial_end)
    if timeline.status in BILLING and timeline.current_period_end is not None:
        return Action("period_end", timeline.current_period_end)
    return None


def trial_reminder_at(start: datetime, trial_end: datetime) -> datetime:
    """Three days before the trial ends, or at its start when the trial is shorter than that."""
    return max(trial_end - TRIAL_WILL_END_NOTICE, start)
