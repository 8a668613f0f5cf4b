"""Time left on a clock: natural time, or working time paused on weekends and holidays (RULES.md §3)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.branch_config import load_calendar
from shared.policy.calendar import DayKind
from shared.policy.remaining import time_left

TZ = ZoneInfo("Asia/Shanghai")
CALENDAR = load_calendar()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.mark.parametrize(
    ("now", "deadline", "working", "left", "paused"),
    [
        # natural time runs through the weekend
        ("2026-03-06 15:00", "2026-03-09 15:00", False, timedelta(days=3), None),
        # Friday 15:00 + 1 wd = Monday 15:00: one working day left on Friday afternoon
        ("2026-03-06 15:00", "2026-03-09 15:00", True, timedelta(hours=24), None),
        # on Saturday the clock is paused and the whole working day is still left
        ("2026-03-07 10:00", "2026-03-09 15:00", True, timedelta(hours=15), DayKind.WEEKEND),
        # National Day week 2026: holidays 1-7 Oct, the resolve clock waits for the 8th
        ("2026-10-02 09:00", "2026-10-09 12:00", True, timedelta(hours=36), DayKind.HOLIDAY),
        # overdue: late by natural time
        ("2026-03-09 16:00", "2026-03-09 15:00", True, timedelta(hours=-1), None),
    ],
)
def test_time_left(now: str, deadline: str, working: bool, left: timedelta, paused: DayKind | None) -> None:
    answer = time_left(at(now), at(deadline), working_days=working, calendar=CALENDAR, tz=TZ)
    assert answer.left == left
    assert (answer.paused.kind if answer.paused else None) == paused
