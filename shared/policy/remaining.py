"""Time left on a clock, in its own kind of time (RULES.md §2-§3): natural time, or working time that stops on
non-working days (the clock is then shown paused, with the day's reason)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from shared.policy.calendar import DayStatus, WorkingDayCalendar


@dataclass(frozen=True)
class TimeLeft:
    """What is left before a deadline; `paused` holds today's status when working time does not run now."""

    left: timedelta
    paused: DayStatus | None = None


def time_left(
    now: datetime, deadline: datetime, *, working_days: bool, calendar: WorkingDayCalendar, tz: ZoneInfo
) -> TimeLeft:
    """Natural time to the deadline, or (RULES.md §3) only the part of it lying on working days.

    Negative when the deadline has passed (by natural time since it: an overdue clock is late in real time).
    """
    if not working_days or deadline <= now:
        return TimeLeft(deadline - now)
    local, end = now.astimezone(tz), deadline.astimezone(tz)
    today = calendar.status(local.date())
    left = timedelta()
    cursor = local
    while cursor < end:
        midnight = datetime.combine(cursor.date() + timedelta(days=1), datetime.min.time(), tz)
        stop = min(midnight, end)
        if calendar.is_working_day(cursor.date()):
            left += stop - cursor
        cursor = stop
    return TimeLeft(left, None if today.working else today)
