"""The run's simulated clock: a weekday morning start, calls counted from the right midnight, never backwards."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hotline.simulate.runner import day_origin, first_morning, last_simulated, remember_simulated
from shared.branch_config import load_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_saturday_start_moves_to_monday_eight_oclock_local() -> None:
    start = first_morning(datetime(2026, 11, 28, 12, 0, tzinfo=UTC), load_calendar(), SHANGHAI)
    assert start == datetime(2026, 11, 30, 8, 0, tzinfo=SHANGHAI)


def test_a_working_day_not_yet_begun_starts_the_same_morning() -> None:
    early = datetime(2026, 11, 25, 5, 30, tzinfo=SHANGHAI)  # Wednesday
    assert first_morning(early, load_calendar(), SHANGHAI) == datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI)


def test_the_national_day_holiday_is_skipped() -> None:
    calendar = load_calendar()
    start = first_morning(datetime(2026, 9, 30, 12, 0, tzinfo=SHANGHAI), calendar, SHANGHAI)
    assert start.date() > date(2026, 10, 1) and calendar.is_working_day(start.date())
    assert all(not calendar.is_working_day((start - timedelta(days=d)).date()) for d in range(1, 3))


def test_calls_count_from_midnight_before_eight_and_from_now_after() -> None:
    assert day_origin(datetime(2026, 11, 30, 5, 0, tzinfo=SHANGHAI), SHANGHAI) == datetime(
        2026, 11, 30, tzinfo=SHANGHAI
    )
    assert day_origin(datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI), SHANGHAI) == datetime(
        2026, 11, 30, 2, 0, tzinfo=SHANGHAI
    )


def test_the_next_run_starts_after_where_the_last_one_stopped(tmp_path: Path) -> None:
    path = tmp_path / "simulation-clock.json"
    assert last_simulated(path) is None
    stopped = datetime(2026, 12, 3, 8, 0, tzinfo=SHANGHAI)
    remember_simulated(path, stopped)
    assert last_simulated(path) == stopped
    assert first_morning(stopped, load_calendar(), SHANGHAI) == datetime(2026, 12, 4, 8, 0, tzinfo=SHANGHAI)
