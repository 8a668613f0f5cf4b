"""Hypothesis properties of the working-day clock and the callback windows (RULES.md §3, §5)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.policy.calendar import WorkingDayCalendar, national_schedules
from shared.policy.callbacks import QuietWindow, first_callback_slot, next_attempt_slot
from tests.unit.policy.conftest import SHANGHAI

pytestmark = pytest.mark.unit
CALENDAR = WorkingDayCalendar(national_schedules())
WINDOW = QuietWindow()

# hypothesis takes naive bounds; the zone is attached below
instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2026, 10, 31)).map(  # noqa: DTZ001
    lambda d: d.replace(tzinfo=SHANGHAI)
)
day_counts = st.integers(min_value=1, max_value=10)


@given(instants, day_counts)
def test_a_deadline_is_never_before_its_start(start: datetime, days: int) -> None:
    assert CALENDAR.add_working_days(start, days, SHANGHAI).at > start


@given(instants, day_counts)
def test_more_working_days_never_give_an_earlier_deadline(start: datetime, days: int) -> None:
    fewer = CALENDAR.add_working_days(start, days, SHANGHAI).at
    assert CALENDAR.add_working_days(start, days + 1, SHANGHAI).at >= fewer + timedelta(hours=24)


@given(instants, day_counts)
def test_a_later_start_never_gives_an_earlier_deadline(start: datetime, days: int) -> None:
    earlier = CALENDAR.add_working_days(start, days, SHANGHAI).at
    assert CALENDAR.add_working_days(start + timedelta(minutes=37), days, SHANGHAI).at >= earlier


@given(instants, day_counts)
@settings(max_examples=300)
def test_a_deadline_never_falls_inside_a_non_working_day(start: datetime, days: int) -> None:
    at = CALENDAR.add_working_days(start, days, SHANGHAI).at.astimezone(SHANGHAI)
    at_midnight = at.hour == 0 and at.minute == 0 and at.second == 0 and at.microsecond == 0
    assert CALENDAR.is_working_day(at.date()) or at_midnight


@given(instants, day_counts)
def test_the_working_time_counted_is_exactly_the_limit(start: datetime, days: int) -> None:
    end = CALENDAR.add_working_days(start, days, SHANGHAI).at
    counted = timedelta(0)
    cursor = start
    while cursor < end:
        step = min(
            end,
            cursor
            + timedelta(hours=1)
            - timedelta(minutes=cursor.minute, seconds=cursor.second, microseconds=cursor.microsecond),
        )
        if CALENDAR.is_working_day(cursor.astimezone(SHANGHAI).date()):
            counted += step - cursor
        cursor = step
    assert counted == timedelta(hours=24 * days)


@given(instants)
def test_a_first_callback_slot_is_never_quiet_nor_early(reply: datetime) -> None:
    slot = first_callback_slot(reply, SHANGHAI)
    assert slot >= reply and not WINDOW.contains(slot, SHANGHAI)
    assert slot - reply < timedelta(hours=11)  # at most the window's length


@given(instants)
def test_a_retry_slot_is_never_quiet_and_at_least_two_hours_later(previous: datetime) -> None:
    slot = next_attempt_slot(previous, SHANGHAI)
    assert not WINDOW.contains(slot, SHANGHAI)
    assert slot - previous >= timedelta(hours=2)
    assert slot - previous <= timedelta(hours=13)
