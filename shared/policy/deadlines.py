"""Deadlines of RULES.md §2-§3: a clock's limit applied from its start, natural or working-day time."""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.policy.branch import BranchPolicy
from shared.policy.calendar import Deadline, WorkingDayCalendar
from shared.policy.categories import Category, PolicyError
from shared.policy.limits import ComplaintLevel, Limit, LimitUnit, SlaClock, limit_for


def apply_limit(
    start: datetime, limit: Limit, branch: BranchPolicy, calendar: WorkingDayCalendar, *, strict: bool = False
) -> Deadline:
    """The instant `limit` after `start`, in the branch's zone (RULES.md §3: minutes are natural time)."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise PolicyError("--start", f"the start instant needs a UTC offset: {start.isoformat()}")
    if limit.unit is LimitUnit.MINUTES:
        return Deadline((start + timedelta(minutes=limit.amount)).astimezone(branch.timezone))
    cal = calendar.with_overrides(branch.calendar_overrides.values())
    return cal.add_working_days(start, limit.amount, branch.timezone, strict=strict or branch.strict_calendar)


def deadline_for(
    category: Category,
    clock: SlaClock,
    start: datetime,
    branch: BranchPolicy,
    calendar: WorkingDayCalendar,
    *,
    level: ComplaintLevel | None = None,
    refused: bool = False,
    strict: bool = False,
) -> Deadline:
    """The deadline of `clock` for a ticket of `category` whose clock started at `start`."""
    limit = limit_for(category, clock, level=level, refused=refused, overrides=branch.limits)
    return apply_limit(start, limit, branch, calendar, strict=strict)


def warning_for(start: datetime, limit: Limit, branch: BranchPolicy, calendar: WorkingDayCalendar) -> Deadline:
    """RULES.md §8: when `branch.warning_ratio` of the limit has passed (working time for wd limits)."""
    if limit.unit is LimitUnit.MINUTES:
        return Deadline((start + timedelta(minutes=limit.amount) * branch.warning_ratio).astimezone(branch.timezone))
    cal = calendar.with_overrides(branch.calendar_overrides.values())
    working = timedelta(hours=24 * limit.amount) * branch.warning_ratio
    return cal.add_working_time(start, working, branch.timezone)
