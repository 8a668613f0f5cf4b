"""The working-day clock (RULES.md §3) around every 2025 and 2026 holiday and make-up working day."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from shared.policy.branch import BranchConfigError, year_schedule_from_mapping
from shared.policy.calendar import DateOverride, DayKind, MissingSchedule, WorkingDayCalendar
from tests.unit.policy.conftest import SHANGHAI, at

pytestmark = pytest.mark.unit


def plus_wd(calendar: WorkingDayCalendar, start: str, days: int = 1) -> datetime:
    return calendar.add_working_days(at(start), days, SHANGHAI).at


# RULES.md §3 worked examples.
def test_friday_afternoon_plus_one_working_day_is_monday_same_time(calendar: WorkingDayCalendar) -> None:
    assert plus_wd(calendar, "2026-11-27 15:00") == at("2026-11-30 15:00")


def test_saturday_start_counts_from_midnight_of_next_working_day(calendar: WorkingDayCalendar) -> None:
    assert plus_wd(calendar, "2026-11-28 10:00") == at("2026-12-01 00:00")
    assert plus_wd(calendar, "2026-11-29 23:59") == at("2026-12-01 00:00")


def test_evening_before_week_long_holiday_resumes_after_it(calendar: WorkingDayCalendar) -> None:
    # 4 h on 30 September, then National Day 1-7 October, then 20 h on 8 October.
    assert plus_wd(calendar, "2026-09-30 20:00") == at("2026-10-08 20:00")


# Every 2025 and 2026 holiday period: the last working day before it, + 1 wd, lands after it;
# every make-up working day (调休) counts like a weekday.
HOLIDAY_CASES = [
    # 2025
    ("2024-12-31 10:00", 1, "2025-01-02 10:00"),  # New Year's Day (Wed)
    ("2025-01-24 10:00", 1, "2025-01-26 10:00"),  # Friday -> make-up Sunday 26 Jan
    ("2025-01-26 10:00", 1, "2025-01-27 10:00"),
    ("2025-01-27 10:00", 1, "2025-02-05 10:00"),  # Spring Festival 28 Jan - 4 Feb
    ("2025-02-07 10:00", 1, "2025-02-08 10:00"),  # make-up Saturday 8 Feb
    ("2025-02-08 10:00", 1, "2025-02-10 10:00"),
    ("2025-04-03 10:00", 1, "2025-04-07 10:00"),  # Tomb-sweeping 4-6 Apr
    ("2025-04-25 10:00", 1, "2025-04-27 10:00"),  # make-up Sunday 27 Apr
    ("2025-04-30 10:00", 1, "2025-05-06 10:00"),  # Labour Day 1-5 May
    ("2025-05-30 10:00", 1, "2025-06-03 10:00"),  # Dragon Boat 31 May - 2 Jun
    ("2025-09-26 10:00", 1, "2025-09-28 10:00"),  # make-up Sunday 28 Sep
    ("2025-09-30 10:00", 1, "2025-10-09 10:00"),  # National Day + Mid-autumn 1-8 Oct
    ("2025-10-10 10:00", 1, "2025-10-11 10:00"),  # make-up Saturday 11 Oct
    ("2025-10-11 10:00", 1, "2025-10-13 10:00"),
    # 2026
    ("2025-12-31 10:00", 1, "2026-01-04 10:00"),  # New Year 1-3 Jan, make-up Sunday 4 Jan
    ("2026-01-04 10:00", 1, "2026-01-05 10:00"),
    ("2026-02-13 10:00", 1, "2026-02-14 10:00"),  # make-up Saturday 14 Feb
    ("2026-02-14 10:00", 1, "2026-02-24 10:00"),  # Spring Festival 15-23 Feb
    ("2026-02-27 10:00", 1, "2026-02-28 10:00"),  # make-up Saturday 28 Feb
    ("2026-02-28 10:00", 1, "2026-03-02 10:00"),
    ("2026-04-03 10:00", 1, "2026-04-07 10:00"),  # Tomb-sweeping 4-6 Apr
    ("2026-04-30 10:00", 1, "2026-05-06 10:00"),  # Labour Day 1-5 May
    ("2026-05-08 10:00", 1, "2026-05-09 10:00"),  # make-up Saturday 9 May
    ("2026-06-18 10:00", 1, "2026-06-22 10:00"),  # Dragon Boat 19-21 Jun
    ("2026-09-18 10:00", 1, "2026-09-20 10:00"),  # make-up Sunday 20 Sep
    ("2026-09-24 10:00", 1, "2026-09-28 10:00"),  # Mid-autumn 25-27 Sep
    ("2026-09-30 10:00", 1, "2026-10-08 10:00"),  # National Day 1-7 Oct
    ("2026-10-09 10:00", 1, "2026-10-10 10:00"),  # make-up Saturday 10 Oct
    # Longer limits across holidays.
    ("2026-02-12 10:00", 3, "2026-02-24 10:00"),  # 14 h on the 12th, 13th, make-up 14th, then 10 h
    ("2026-09-29 09:00", 3, "2026-10-09 09:00"),  # 29th, 30th, 8th, 9th 09:00
    ("2026-04-29 16:00", 5, "2026-05-09 16:00"),  # 8 h on 29 Apr, 30 Apr, 6-8 May, make-up 9 May
    ("2026-09-30 00:00", 1, "2026-10-01 00:00"),  # the whole last day: ends at the holiday's 00:00
]


@pytest.mark.parametrize(("start", "days", "expected"), HOLIDAY_CASES)
def test_working_days_around_holidays(calendar: WorkingDayCalendar, start: str, days: int, expected: str) -> None:
    assert plus_wd(calendar, start, days) == at(expected)


def test_schedules_agree_with_the_holidays_package(calendar: WorkingDayCalendar) -> None:
    """Cross-check: weekday holidays are non-working and substituted-from dates are working."""
    for year in (2025, 2026):
        for day, name in holidays.country_holidays("CN", years=year).items():
            if day.weekday() < 5:
                assert not calendar.is_working_day(day), f"{day} {name}"
            for month, dom, yr in re.findall(r"substituted from (\d\d)/(\d\d)/(\d{4})", name):
                assert calendar.status(date(int(yr), int(month), int(dom))).kind is DayKind.MAKEUP_WORKDAY


def test_status_names_the_kind_of_day(calendar: WorkingDayCalendar) -> None:
    assert calendar.status(date(2026, 10, 1)).kind is DayKind.HOLIDAY
    assert calendar.status(date(2026, 10, 10)).kind is DayKind.MAKEUP_WORKDAY
    assert calendar.status(date(2026, 11, 28)).kind is DayKind.WEEKEND
    assert calendar.status(date(2026, 11, 27)).kind is DayKind.WORKDAY


def test_a_missing_year_is_provisional_and_names_the_year(calendar: WorkingDayCalendar) -> None:
    result = calendar.add_working_days(at("2026-12-31 10:00"), 1, SHANGHAI)
    assert result.provisional and result.missing_years == (2027,)
    assert result.at == at("2027-01-01 10:00")  # weekends-only guess for 2027


def test_ending_exactly_at_the_new_year_needs_no_schedule_of_it(calendar: WorkingDayCalendar) -> None:
    result = calendar.add_working_days(at("2026-12-31 00:00"), 1, SHANGHAI)
    assert result.at == at("2027-01-01 00:00") and not result.provisional


def test_strict_mode_refuses_a_missing_year(calendar: WorkingDayCalendar) -> None:
    with pytest.raises(MissingSchedule) as raised:
        calendar.add_working_days(at("2026-12-30 10:00"), 3, SHANGHAI, strict=True)
    assert raised.value.years == (2027,)
    assert "2027" in raised.value.message


def test_a_year_file_makes_the_year_known_and_is_used(calendar: WorkingDayCalendar) -> None:
    schedule = year_schedule_from_mapping(
        {
            "year": 2027,
            "holidays": {"2027-01-01": "New Year's Day", "2027-02-05..2027-02-13": "Spring Festival"},
            "makeup_workdays": {"2027-02-14": "Spring Festival"},
        }
    )
    loaded = calendar.with_schedules([schedule])
    result = loaded.add_working_days(at("2026-12-31 10:00"), 1, SHANGHAI)
    assert not result.provisional
    assert result.at == at("2027-01-04 10:00")  # 1 Jan holiday, 2-3 Jan weekend
    assert loaded.add_working_days(at("2027-02-04 10:00"), 1, SHANGHAI).at == at("2027-02-14 10:00")


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({}, "year"),
        ({"year": 2027, "holidays": {"2027-13-01": "x"}}, "2027-13-01"),
        ({"year": 2027, "holidays": {"2028-01-01": "x"}}, "not in the schedule's year"),
        ({"year": 2027, "holidays": {"2027-02-10..2027-02-01": "x"}}, "ends before"),
        ({"year": 2027, "holidays": {"2027-02-06": "x"}, "makeup_workdays": {"2027-02-06": "y"}}, "both"),
    ],
)
def test_bad_year_files_are_refused_with_the_field(data: dict[str, object], fragment: str) -> None:
    with pytest.raises(BranchConfigError, match=re.escape(fragment)):
        year_schedule_from_mapping(data)


def test_branch_override_closes_and_opens_days(calendar: WorkingDayCalendar) -> None:
    closed = calendar.with_overrides([DateOverride(date(2026, 11, 30), False, "typhoon closure")])
    assert closed.add_working_days(at("2026-11-27 15:00"), 1, SHANGHAI).at == at("2026-12-01 15:00")
    opened = calendar.with_overrides([DateOverride(date(2026, 11, 28), True, "local make-up day")])
    assert opened.add_working_days(at("2026-11-27 15:00"), 1, SHANGHAI).at == at("2026-11-28 15:00")
    assert opened.status(date(2026, 11, 28)).kind is DayKind.BRANCH_OPEN


def test_override_in_a_missing_year_is_not_a_guess(calendar: WorkingDayCalendar) -> None:
    # Only the days actually counted decide provisional-ness; an override decides its own day.
    overridden = calendar.with_overrides([DateOverride(date(2027, 1, 1), True, "branch open")])
    result = overridden.add_working_days(at("2026-12-31 10:00"), 1, SHANGHAI)
    assert result.at == at("2027-01-01 10:00") and not result.provisional


def test_working_days_are_local_calendar_days_of_the_branch_zone(calendar: WorkingDayCalendar) -> None:
    # 23:30 UTC on Thursday is already Friday 07:30 in Shanghai.
    start = datetime.fromisoformat("2026-11-26T23:30:00+00:00")
    assert calendar.add_working_days(start, 1, SHANGHAI).at == at("2026-11-30 07:30")


def test_a_zone_with_daylight_saving_counts_real_hours() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    plain = WorkingDayCalendar({})  # weekends only: provisional, but the arithmetic is what is tested
    # Sunday 29 March 2026 is 23 h long in Berlin, and not a working day anyway.
    start = datetime(2026, 3, 27, 15, 0, tzinfo=berlin)
    result = plain.add_working_days(start, 1, berlin)
    assert result.at == datetime(2026, 3, 30, 15, 0, tzinfo=berlin)
    assert result.at.astimezone(UTC) - start.astimezone(UTC) == timedelta(days=3) - timedelta(hours=1)
