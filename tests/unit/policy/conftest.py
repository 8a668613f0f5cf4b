"""Shared fixtures of the policy tests: the default branch and the national calendar."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from shared.policy.branch import BranchPolicy
from shared.policy.calendar import WorkingDayCalendar, national_schedules

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """An instant written in Shanghai local time, e.g. '2026-11-27 15:00'."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture(scope="session")
def calendar() -> WorkingDayCalendar:
    return WorkingDayCalendar(national_schedules())


@pytest.fixture(scope="session")
def branch() -> BranchPolicy:
    return BranchPolicy()
