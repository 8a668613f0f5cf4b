"""Callback tasks and outcome transitions at the edges of RULES.md §5 (quiet window, spacing, attempts)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from services.callback.scheduling import (
    Abandon,
    CallbackPlan,
    Complete,
    NoCallbackOwed,
    Outcome,
    OutcomeError,
    Reopen,
    Reschedule,
    check_answers,
    decide_outcome,
    plan_callback,
    priority_of,
)
from shared.policy.branch import BranchPolicy
from shared.policy.calendar import WorkingDayCalendar, national_schedules
from shared.policy.callbacks import FailureReason
from shared.policy.categories import Category
from shared.policy.limits import CallbackKind, ComplaintLevel

pytestmark = pytest.mark.unit

SHANGHAI = ZoneInfo("Asia/Shanghai")
BRANCH = BranchPolicy()
CALENDAR = WorkingDayCalendar(national_schedules())


def at(text: str) -> datetime:
    """Shanghai local time, e.g. '2026-11-25 20:59' (a Wednesday)."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def plan(reply: str, category: Category = Category.REPAIR, **kwargs: object) -> CallbackPlan | NoCallbackOwed:
    values: dict[str, object] = {"preference": "required", "requested_at": None, **kwargs}
    return plan_callback(
        category=category,
        reply_received_at=at(reply),
        branch=BRANCH,
        calendar=CALENDAR,
        **values,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("reply", "first_slot", "due"),
    [
        ("2026-11-25 20:59", "2026-11-25 20:59", "2026-11-26 20:59"),  # just before the quiet window
        ("2026-11-25 21:00", "2026-11-26 08:00", "2026-11-26 21:00"),  # the window starts at 21:00
        ("2026-11-26 07:59", "2026-11-26 08:00", "2026-11-27 07:59"),  # still quiet
        ("2026-11-26 08:00", "2026-11-26 08:00", "2026-11-27 08:00"),  # the window ends at 08:00
        ("2026-11-27 15:00", "2026-11-27 15:00", "2026-11-30 15:00"),  # Friday + 1 wd = Monday
        # the eve of the National Day week: the slot is that evening, the 1 wd runs after the holiday
        ("2026-09-30 20:30", "2026-09-30 20:30", "2026-10-08 20:30"),
        ("2026-09-30 21:30", "2026-10-01 08:00", "2026-10-08 21:30"),  # the center calls on holidays too
    ],
)
def test_a_reply_gets_its_first_slot_and_a_one_working_day_deadline(reply: str, first_slot: str, due: str) -> None:
    result = plan(reply)
    assert result == CallbackPlan(CallbackKind.SURVEY, at(due), at(first_slot), "reply_received")


def test_a_customer_set_time_at_22_00_is_kept_inside_the_quiet_window() -> None:
    result = plan("2026-11-25 10:00", preference="customer_time", requested_at=at("2026-11-25 22:00"))
    assert isinstance(result, CallbackPlan)
    assert result.scheduled_for == at("2026-11-25 22:00")
    assert result.reason == "customer_requested"
    assert result.due_at == at("2026-11-26 10:00")


def test_a_customer_time_already_past_at_the_reply_falls_back_to_the_first_slot() -> None:
    result = plan("2026-11-25 22:30", preference="customer_time", requested_at=at("2026-11-25 22:00"))
    assert isinstance(result, CallbackPlan)
    assert (result.scheduled_for, result.reason) == (at("2026-11-26 08:00"), "reply_received")


@pytest.mark.parametrize(
    ("category", "kind"),
    [
        (Category.CONSULTATION, CallbackKind.REPLY),
        (Category.SUGGESTION, CallbackKind.REPLY),
        (Category.ALARM, CallbackKind.SURVEY),
        (Category.COMPLAINT, CallbackKind.SURVEY),
        (Category.OPINION, CallbackKind.SURVEY),
    ],
)
def test_the_kind_follows_the_category(category: Category, kind: CallbackKind) -> None:
    result = plan("2026-11-25 10:00", category)
    assert isinstance(result, CallbackPlan) and result.kind is kind


@pytest.mark.parametrize(
    ("category", "preference", "why"),
    [
        (Category.PRAISE, "required", "no callback is owed for a praise ticket"),
        (Category.QUERY, "required", "no callback is owed for a query ticket"),
        (Category.REPAIR, "declined", "the customer declined a callback"),
    ],
)
def test_no_callback_is_owed_for_praise_queries_and_declines(category: Category, preference: str, why: str) -> None:
    assert plan("2026-11-25 10:00", category, preference=preference) == NoCallbackOwed(why)


@pytest.mark.parametrize(
    ("failed_at", "next_slot"),
    [
        ("2026-11-25 18:59", "2026-11-25 20:59"),  # 2 h later is still before the window
        ("2026-11-25 19:00", "2026-11-26 08:00"),  # 21:00 is quiet: the next morning
        ("2026-11-25 08:00", "2026-11-25 10:00"),
        ("2026-11-25 22:00", "2026-11-26 08:00"),  # after a customer-set attempt in the window
    ],
)
def test_a_failed_attempt_is_retried_two_hours_later_outside_the_window(failed_at: str, next_slot: str) -> None:
    decision = decide_outcome(
        Outcome.NO_ANSWER, attempted_at=at(failed_at), failed_before=0, customer_time=None, branch=BRANCH
    )
    assert decision == Reschedule(at(next_slot), "retry")


def test_three_failed_attempts_abandon_with_the_reason_written() -> None:
    attempts = [
        ("2026-11-25 20:59", Outcome.NO_ANSWER),
        ("2026-11-26 08:00", Outcome.BUSY),
        ("2026-11-26 10:00", Outcome.SWITCHED_OFF),
    ]
    slots: list[datetime] = []
    decision = None
    for failed_before, (when, outcome) in enumerate(attempts):
        decision = decide_outcome(
            outcome, attempted_at=at(when), failed_before=failed_before, customer_time=None, branch=BRANCH
        )
        if isinstance(decision, Reschedule):
            slots.append(decision.at)
    assert slots == [at("2026-11-26 08:00"), at("2026-11-26 10:00")]
    assert isinstance(decision, Abandon)
    assert (decision.failed_attempts, decision.last_failure) == (3, FailureReason.SWITCHED_OFF)
    assert "3 callback attempts" in decision.reason_text and "switched off" in decision.reason_text


def test_a_wrong_number_counts_as_a_failed_attempt() -> None:
    decision = decide_outcome(
        Outcome.WRONG_NUMBER, attempted_at=at("2026-11-25 12:00"), failed_before=2, customer_time=None, branch=BRANCH
    )
    assert isinstance(decision, Abandon) and decision.last_failure is FailureReason.WRONG_NUMBER


def test_the_customer_asks_for_another_time_even_in_the_quiet_window() -> None:
    decision = decide_outcome(
        Outcome.ASKED_ANOTHER_TIME,
        attempted_at=at("2026-11-25 12:00"),
        failed_before=2,
        customer_time=at("2026-11-25 22:00"),
        branch=BRANCH,
    )
    assert decision == Reschedule(at("2026-11-25 22:00"), "customer_requested")


@pytest.mark.parametrize("customer_time", [None, "2026-11-25 11:00", "2026-11-25 12:00"])
def test_another_time_needs_a_future_time(customer_time: str | None) -> None:
    with pytest.raises(OutcomeError) as error:
        decide_outcome(
            Outcome.ASKED_ANOTHER_TIME,
            attempted_at=at("2026-11-25 12:00"),
            failed_before=0,
            customer_time=at(customer_time) if customer_time else None,
            branch=BRANCH,
        )
    assert error.value.field == "call_back_at"


@pytest.mark.parametrize(("outcome", "decision"), [(Outcome.REACHED, Complete()), (Outcome.REPLY_MISMATCH, Reopen())])
def test_reached_completes_and_a_mismatch_reopens(outcome: Outcome, decision: object) -> None:
    got = decide_outcome(
        outcome, attempted_at=at("2026-11-25 12:00"), failed_before=2, customer_time=None, branch=BRANCH
    )
    assert got == decision


@pytest.mark.parametrize(
    ("kind", "outcome", "solved", "rating", "field"),
    [
        (CallbackKind.SURVEY, Outcome.REACHED, None, 4, "problem_solved"),
        (CallbackKind.SURVEY, Outcome.REACHED, True, None, "satisfaction"),
        (CallbackKind.SURVEY, Outcome.REACHED, True, 6, "satisfaction"),
        (CallbackKind.REPLY, Outcome.REACHED, True, None, "problem_solved"),
        (CallbackKind.SURVEY, Outcome.NO_ANSWER, None, 3, "satisfaction"),
    ],
)
def test_survey_answers_are_checked(
    kind: CallbackKind, outcome: Outcome, solved: bool | None, rating: int | None, field: str
) -> None:
    with pytest.raises(OutcomeError) as error:
        check_answers(kind, outcome, problem_solved=solved, satisfaction=rating)
    assert error.value.field == field


def test_complete_answers_pass() -> None:
    check_answers(CallbackKind.SURVEY, Outcome.REACHED, problem_solved=False, satisfaction=1)
    check_answers(CallbackKind.REPLY, Outcome.REACHED, problem_solved=None, satisfaction=None)


def test_priority_weighs_importance_hazard_urgency_and_grade() -> None:
    low = priority_of(key_customer=False, urgent=False, hazardous=False, complaint_level=None)
    high = priority_of(key_customer=True, urgent=True, hazardous=False, complaint_level=ComplaintLevel.MAJOR)
    assert (low, high) == (0, 4)
