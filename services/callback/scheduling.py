"""Pure callback scheduling: the task a reply owes and what each call outcome leads to (RULES.md §5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from shared import errors
from shared.policy.branch import BranchPolicy
from shared.policy.calendar import WorkingDayCalendar
from shared.policy.callbacks import (
    FailureReason,
    customer_set_slot,
    first_callback_slot,
    next_attempt_slot,
    should_abandon,
)
from shared.policy.categories import Category
from shared.policy.deadlines import deadline_for
from shared.policy.limits import CallbackKind, SlaClock, callback_kind
from shared.policy.priority import priority_score

PreferenceMode = Literal["required", "declined", "customer_time"]
ScheduleReason = Literal["reply_received", "customer_requested", "retry"]


@dataclass(frozen=True)
class CallbackPlan:
    """The callback a reply owes: its kind, the clock's deadline and the first attempt's slot."""

    kind: CallbackKind
    due_at: datetime
    scheduled_for: datetime
    reason: ScheduleReason
    provisional: bool = False  # the deadline reaches into a year with no schedule (RULES.md §3)


@dataclass(frozen=True)
class NoCallbackOwed:
    """Why the ticket closes right after the approved reply."""

    reason_text: str


def plan_callback(
    *,
    category: Category,
    preference: PreferenceMode,
    requested_at: datetime | None,
    reply_received_at: datetime,
    branch: BranchPolicy,
    calendar: WorkingDayCalendar,
) -> CallbackPlan | NoCallbackOwed:
    """The callback owed once the unit's reply is approved, or why none is owed."""
    kind = callback_kind(category)  # RULES.md §2: survey, reply or none per category
    if kind is None:
        return NoCallbackOwed(f"no callback is owed for a {category.value} ticket")
    if preference == "declined":
        # RULES.md §2: none is owed when the customer declined one
        return NoCallbackOwed("the customer declined a callback")
    # RULES.md §5: due within 1 wd of the reply received
    due = deadline_for(category, SlaClock.CALLBACK, reply_received_at, branch, calendar)
    if preference == "customer_time" and requested_at is not None and requested_at >= reply_received_at:
        # RULES.md §5 policy default: the customer's time is kept even inside the quiet window
        slot = customer_set_slot(requested_at, branch.timezone)
        return CallbackPlan(kind, due.at, slot, "customer_requested", due.provisional)
    # RULES.md §5: the first allowed slot outside the quiet window
    slot = first_callback_slot(reply_received_at, branch.timezone, branch.quiet_window)
    return CallbackPlan(kind, due.at, slot, "reply_received", due.provisional)


class Outcome(StrEnum):
    """What the agent found on the call; the last four are the failures of RULES.md §5."""

    REACHED = "reached"  # survey answered, or the result told (reply kind)
    REPLY_MISMATCH = "reply_mismatch"  # the reply does not match the facts: back to the unit
    ASKED_ANOTHER_TIME = "asked_another_time"  # the customer cannot talk now: call at their time
    NO_ANSWER = FailureReason.NO_ANSWER.value
    BUSY = FailureReason.BUSY.value
    SWITCHED_OFF = FailureReason.SWITCHED_OFF.value
    WRONG_NUMBER = FailureReason.WRONG_NUMBER.value

    @property
    def failure(self) -> FailureReason | None:
        try:
            return FailureReason(self.value)
        except ValueError:
            return None


@dataclass(frozen=True)
class Complete:
    """Close the task and the ticket (a new request, if any, follows the completion)."""


@dataclass(frozen=True)
class Reopen:
    """Send the ticket back to its unit; a new callback follows the unit's next reply."""


@dataclass(frozen=True)
class Reschedule:
    """Call again at `at` (customer-set or the retry slot)."""

    at: datetime
    reason: ScheduleReason


@dataclass(frozen=True)
class Abandon:
    """Close the ticket: the customer could not be reached after the required attempts."""

    failed_attempts: int
    last_failure: FailureReason
    reason_text: str


Decision = Complete | Reopen | Reschedule | Abandon


class OutcomeError(errors.Invalid):
    """An outcome that cannot be recorded as given (422); `field` names the request body's field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, fields=[{"field": f"body.{field}", "message": message}])
        self.field = field


_FAILURE_WORDS = {
    FailureReason.NO_ANSWER: "no answer",
    FailureReason.BUSY: "line busy",
    FailureReason.SWITCHED_OFF: "phone switched off",
    FailureReason.WRONG_NUMBER: "wrong number",
}


def decide_outcome(
    outcome: Outcome,
    *,
    attempted_at: datetime,
    failed_before: int,
    customer_time: datetime | None,
    branch: BranchPolicy,
) -> Decision:
    """What follows an attempt with `outcome`, `failed_before` failed attempts having been made already."""
    failure = outcome.failure
    if failure is not None:
        failed = failed_before + 1
        # RULES.md §5: >= 3 attempts in all, then close with the reason written on the ticket
        if should_abandon(failed, branch.retry):
            gap_minutes = int(branch.retry.min_gap.total_seconds() // 60)
            text = (
                f"customer not reached after {failed} callback attempts at least {gap_minutes} minutes apart "
                f"(last: {_FAILURE_WORDS[failure]})"
            )
            return Abandon(failed, failure, text)
        # RULES.md §5: >= 2 h after this attempt, outside the quiet window
        slot = next_attempt_slot(attempted_at, branch.timezone, branch.quiet_window, branch.retry)
        return Reschedule(slot, "retry")
    if outcome is Outcome.ASKED_ANOTHER_TIME:
        if customer_time is None:
            raise OutcomeError("call_back_at", "the time the customer asked for is required")
        if customer_time <= attempted_at:
            raise OutcomeError("call_back_at", "the time the customer asked for must be in the future")
        # RULES.md §5: agree another time and schedule it (kept even inside the quiet window)
        return Reschedule(customer_set_slot(customer_time, branch.timezone), "customer_requested")
    if outcome is Outcome.REPLY_MISMATCH:
        return Reopen()  # RULES.md §5: the ticket goes back to the unit to be reprocessed
    return Complete()


def check_answers(
    kind: CallbackKind, outcome: Outcome, *, problem_solved: bool | None, satisfaction: int | None
) -> None:
    """RULES.md §5: a completed survey records solved-or-not and a 1-5 rating; a reply records neither."""
    if outcome is not Outcome.REACHED:
        if problem_solved is not None or satisfaction is not None:
            field = "problem_solved" if problem_solved is not None else "satisfaction"
            raise OutcomeError(field, "survey answers are recorded only when the outcome is 'reached'")
        return
    if kind is CallbackKind.SURVEY:
        if problem_solved is None:
            raise OutcomeError("problem_solved", "a survey records whether the problem was solved")
        if satisfaction is None:
            raise OutcomeError("satisfaction", "a survey records a satisfaction rating from 1 to 5")
    elif problem_solved is not None or satisfaction is not None:
        field = "problem_solved" if problem_solved is not None else "satisfaction"
        raise OutcomeError(field, "a reply callback tells the result; it records no survey answers")
    if satisfaction is not None and not 1 <= satisfaction <= 5:
        raise OutcomeError("satisfaction", "satisfaction is rated from 1 to 5")


# RULES.md §9: the one priority orders the queue after deadlines (shared.policy.priority.work_order;
# the store sorts by due_at, priority desc, scheduled_for in SQL: the same key)
priority_of = priority_score
