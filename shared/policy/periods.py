"""Reporting periods (RULES.md §7: weekly and monthly analysis and publication): their bounds, and which are due."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

PeriodKind = Literal["week", "month"]


class PeriodError(ValueError):
    """A period that does not start where its kind starts."""


def period_end(kind: PeriodKind, start: date) -> date:
    """The last day (inclusive) of the week (Monday to Sunday) or calendar month starting at `start`."""
    if kind == "week":
        if start.weekday() != 0:
            raise PeriodError("a week starts on a Monday")
        return start + timedelta(days=6)
    if start.day != 1:
        raise PeriodError("a month starts on its first day")
    following = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return following - timedelta(days=1)


def is_over(kind: PeriodKind, start: date, today: date) -> bool:
    """Over once its last day has passed on the branch's wall clock: its figures are then final."""
    return period_end(kind, start) < today


def last_finished(kind: PeriodKind, today: date) -> date:
    """The start of the latest week or month that is over on `today` (the schedule publishes it)."""
    if kind == "week":
        this_monday = today - timedelta(days=today.weekday())
        return this_monday - timedelta(days=7)
    first = today.replace(day=1)
    previous = first - timedelta(days=1)
    return previous.replace(day=1)
