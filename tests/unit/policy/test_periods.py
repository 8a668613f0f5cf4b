"""Reporting periods: weeks are Monday to Sunday, months calendar months; due once over (RULES.md §7)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.policy.periods import PeriodError, is_over, last_finished, period_end


@pytest.mark.parametrize(
    ("kind", "start", "end"),
    [
        ("week", date(2026, 11, 23), date(2026, 11, 29)),
        ("week", date(2026, 12, 28), date(2027, 1, 3)),  # across the year
        ("month", date(2026, 11, 1), date(2026, 11, 30)),
        ("month", date(2026, 12, 1), date(2026, 12, 31)),
        ("month", date(2028, 2, 1), date(2028, 2, 29)),  # leap year
        ("month", date(2027, 2, 1), date(2027, 2, 28)),
    ],
)
def test_period_end(kind: str, start: date, end: date) -> None:
    assert period_end(kind, start) == end  # type: ignore[arg-type]


@pytest.mark.parametrize(("kind", "start"), [("week", date(2026, 11, 24)), ("month", date(2026, 11, 2))])
def test_a_period_starts_where_its_kind_starts(kind: str, start: date) -> None:
    with pytest.raises(PeriodError):
        period_end(kind, start)  # type: ignore[arg-type]


def test_over_after_its_last_day() -> None:
    assert not is_over("month", date(2026, 11, 1), date(2026, 11, 30))
    assert is_over("month", date(2026, 11, 1), date(2026, 12, 1))


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)))
def test_the_last_finished_period_is_over_and_the_next_one_is_not(today: date) -> None:
    for kind in ("week", "month"):
        start = last_finished(kind, today)  # type: ignore[arg-type]
        end = period_end(kind, start)  # type: ignore[arg-type]
        assert end < today
        assert end + timedelta(days=1) <= today and not is_over(kind, end + timedelta(days=1), today)  # type: ignore[arg-type]
