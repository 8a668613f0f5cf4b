"""Callback windows of RULES.md §5 at the edges of the quiet window [21:00, 08:00)."""

from __future__ import annotations

from datetime import time

import pytest

from shared.policy.branch import BranchPolicy
from shared.policy.calendar import WorkingDayCalendar
from shared.policy.callbacks import (
    QuietWindow,
    RetryRule,
    customer_set_slot,
    first_callback_slot,
    next_attempt_slot,
    should_abandon,
)
from shared.policy.categories import Category, PolicyError
from shared.policy.deadlines import deadline_for
from shared.policy.limits import SlaClock
from tests.unit.policy.conftest import SHANGHAI, at

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("reply", "slot"),
    [
        ("2026-11-25 20:59", "2026-11-25 20:59"),
        ("2026-11-25 21:00", "2026-11-26 08:00"),
        ("2026-11-25 23:30", "2026-11-26 08:00"),
        ("2026-11-26 00:00", "2026-11-26 08:00"),
        ("2026-11-26 07:59", "2026-11-26 08:00"),
        ("2026-11-26 08:00", "2026-11-26 08:00"),
        ("2026-10-01 22:00", "2026-10-02 08:00"),  # holidays are no different: the center works 24/7
    ],
)
def test_first_slot_after_a_reply(reply: str, slot: str) -> None:
    assert first_callback_slot(at(reply), SHANGHAI) == at(slot)


@pytest.mark.parametrize(
    ("previous", "slot"),
    [
        ("2026-11-25 18:59", "2026-11-25 20:59"),
        ("2026-11-25 19:00", "2026-11-26 08:00"),  # 21:00 is already quiet
        ("2026-11-25 08:00", "2026-11-25 10:00"),
        ("2026-11-25 05:00", "2026-11-25 08:00"),  # a customer-set early attempt: 07:00 is quiet
        ("2026-11-25 06:30", "2026-11-25 08:30"),
    ],
)
def test_next_attempt_is_two_hours_later_and_outside_the_window(previous: str, slot: str) -> None:
    assert next_attempt_slot(at(previous), SHANGHAI) == at(slot)


def test_a_customer_set_time_inside_the_window_is_kept() -> None:
    assert customer_set_slot(at("2026-11-25 22:00"), SHANGHAI) == at("2026-11-25 22:00")


def test_three_failed_attempts_abandon() -> None:
    assert [should_abandon(n) for n in range(5)] == [False, False, False, True, True]


def test_a_reply_on_the_eve_of_a_week_long_holiday(calendar: WorkingDayCalendar, branch: BranchPolicy) -> None:
    reply = at("2026-09-30 20:30")
    assert first_callback_slot(reply, SHANGHAI) == reply
    due = deadline_for(Category.REPAIR, SlaClock.CALLBACK, reply, branch, calendar)
    assert due.at == at("2026-10-08 20:30")


def test_a_daytime_quiet_window_and_a_longer_gap_are_configurable() -> None:
    window = QuietWindow(time(12, 0), time(14, 0))
    assert window.contains(at("2026-11-25 12:00"), SHANGHAI)
    assert not window.contains(at("2026-11-25 14:00"), SHANGHAI)
    rule = RetryRule(min_gap=RetryRule().min_gap * 2)
    assert next_attempt_slot(at("2026-11-25 09:00"), SHANGHAI, window, rule) == at("2026-11-25 14:00")


def test_naive_instants_are_refused() -> None:
    with pytest.raises(PolicyError):
        first_callback_slot(at("2026-11-25 10:00").replace(tzinfo=None), SHANGHAI)
