"""The working-day clock of RULES.md §3: national schedule, branch overrides, provisional years."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo

from shared.policy.categories import PolicyError

# A limit this long on a calendar with no working day in sight is a configuration error.
_MAX_DAYS_SCANNED = 3660


class DayKind(StrEnum):
    WORKDAY = "workday"  # Monday to Friday, not a holiday
    WEEKEND = "weekend"
    HOLIDAY = "holiday"  # a non-working day of the national schedule
    MAKEUP_WORKDAY = "makeup_workday"  # 调休: a weekend day made a working day
    BRANCH_CLOSED = "branch_closed"  # a branch override: local holiday, typhoon closure
    BRANCH_OPEN = "branch_open"  # a branch override making a day a working day


@dataclass(frozen=True)
class YearSchedule:
    """One year of the national schedule (国务院办公厅 holiday notice)."""

    year: int
    holidays: Mapping[date, str]  # non-working days, with the holiday's name
    makeup_workdays: Mapping[date, str]  # weekend days that are working days
    source: str = ""

    def __post_init__(self) -> None:
        for day in (*self.holidays, *self.makeup_workdays):
            if day.year != self.year:
                raise ValueError(f"{day.isoformat()} is not in the schedule's year {self.year}")
        both = set(self.holidays) & set(self.makeup_workdays)
        if both:
            first = min(both).isoformat()
            raise ValueError(f"{first} is both a holiday and a make-up working day in {self.year}")


@dataclass(frozen=True)
class DateOverride:
    """A branch's own decision on one date, which wins over the national schedule."""

    day: date
    working: bool
    reason: str


@dataclass(frozen=True)
class DayStatus:
    day: date
    working: bool
    kind: DayKind
    name: str = ""
    provisional: bool = False  # the year has no schedule: weekends-only guess


@dataclass(frozen=True)
class Deadline:
    """A deadline instant in the branch's zone; provisional when a year's schedule was missing."""

    at: datetime
    provisional: bool = False
    missing_years: tuple[int, ...] = ()


class MissingSchedule(PolicyError):
    """RULES.md §3 strict mode: a limit reaches into a year with no schedule loaded."""

    def __init__(self, years: Iterable[int]) -> None:
        self.years = tuple(sorted(set(years)))
        named = ", ".join(str(y) for y in self.years)
        super().__init__("--strict", f"no national holiday schedule is loaded for {named}; load the year file first")


@dataclass(frozen=True)
class WorkingDayCalendar:
    """Decides whether a date is a working day: branch override, then national schedule, then weekends."""

    schedules: Mapping[int, YearSchedule]
    overrides: Mapping[date, DateOverride] = field(default_factory=dict)

    def with_overrides(self, overrides: Iterable[DateOverride]) -> WorkingDayCalendar:
        merged = dict(self.overrides)
        merged.update({o.day: o for o in overrides})
        return WorkingDayCalendar(self.schedules, merged)

    def with_schedules(self, schedules: Iterable[YearSchedule]) -> WorkingDayCalendar:
        merged = dict(self.schedules)
        merged.update({s.year: s for s in schedules})
        return WorkingDayCalendar(merged, self.overrides)

    def knows_year(self, year: int) -> bool:
        return year in self.schedules

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(sorted(self.schedules))

    def status(self, day: date) -> DayStatus:
        override = self.overrides.get(day)
        if override is not None:
            kind = DayKind.BRANCH_OPEN if override.working else DayKind.BRANCH_CLOSED
            return DayStatus(day, override.working, kind, override.reason)
        schedule = self.schedules.get(day.year)
        weekend = day.weekday() >= 5
        if schedule is None:
            kind = DayKind.WEEKEND if weekend else DayKind.WORKDAY
            return DayStatus(day, not weekend, kind, provisional=True)
        if day in schedule.holidays:
            return DayStatus(day, False, DayKind.HOLIDAY, schedule.holidays[day])
        if day in schedule.makeup_workdays:
            return DayStatus(day, True, DayKind.MAKEUP_WORKDAY, schedule.makeup_workdays[day])
        return DayStatus(day, not weekend, DayKind.WEEKEND if weekend else DayKind.WORKDAY)

    def is_working_day(self, day: date) -> bool:
        return self.status(day).working

    def year_days(self, year: int) -> Iterator[DayStatus]:
        day = date(year, 1, 1)
        while day.year == year:
            yield self.status(day)
            day += timedelta(days=1)

    def add_working_days(self, start: datetime, days: int, tz: ZoneInfo, *, strict: bool = False) -> Deadline:
        """RULES.md §3: the earliest instant at which `days` x 24 h lying on working days have passed.

        Working days are calendar days in `tz`. A start on a non-working day counts from 00:00 of
        the next working day; the result may be the 00:00 that ends the last working day counted.
        """
        if days <= 0:
            raise PolicyError("limit", f"a working-day limit must be positive, got {days}")
        return self.add_working_time(start, timedelta(hours=24 * days), tz, strict=strict)

    def add_working_time(self, start: datetime, working: timedelta, tz: ZoneInfo, *, strict: bool = False) -> Deadline:
        """The earliest instant at which `working` time lying on working days has passed since `start`."""
        if start.tzinfo is None or start.utcoffset() is None:
            raise PolicyError("--start", "the start instant needs a UTC offset or a zone")
        remaining = working
        cursor = start.astimezone(UTC)
        day = start.astimezone(tz).date()
        missing: set[int] = set()
        for _ in range(_MAX_DAYS_SCANNED):
            day_end = _local_midnight(day + timedelta(days=1), tz)
            status = self.status(day)
            if status.provisional:
                missing.add(day.year)
            if status.working:
                available = day_end - cursor
                if available >= remaining:
                    return self._deadline(cursor + remaining, tz, missing, strict)
                remaining -= available
            cursor = day_end
            day += timedelta(days=1)
        raise PolicyError("calendar", f"no working day within {_MAX_DAYS_SCANNED} days of {start.isoformat()}")

    @staticmethod
    def _deadline(at_utc: datetime, tz: ZoneInfo, missing: set[int], strict: bool) -> Deadline:
        if missing and strict:
            raise MissingSchedule(missing)
        return Deadline(at_utc.astimezone(tz), bool(missing), tuple(sorted(missing)))


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """00:00 of `day` in `tz`, as a UTC instant (real elapsed time even across DST changes)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


@cache
def national_schedules() -> dict[int, YearSchedule]:
    """The years the `chinesecalendar` package covers (2004-2026 in 1.11), as YearSchedules."""
    from chinese_calendar import constants

    years = sorted({d.year for d in constants.holidays})
    holidays: dict[int, dict[date, str]] = {y: {} for y in years}
    makeup: dict[int, dict[date, str]] = {y: {} for y in years}
    for day, name in constants.holidays.items():
        holidays[day.year][day] = str(name)
    for day, name in constants.workdays.items():
        if day.year in makeup:
            makeup[day.year][day] = str(name)
    return {y: YearSchedule(y, holidays[y], makeup[y], source="chinesecalendar package") for y in years}
