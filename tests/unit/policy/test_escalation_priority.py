"""RULES.md §8 escalation ladder, §2 unit clocks and §9 order of work, from tables of cases, without a server."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.policy.categories import Category
from shared.policy.escalation import Escalation, after_further_limit, at_breach, is_urgent
from shared.policy.limits import UNIT_CLOCKS, ComplaintLevel, SlaClock, clocks_for
from shared.policy.priority import priority_score, work_order

NANNING = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 9, 8, 0, tzinfo=NANNING)


@pytest.mark.parametrize("category", list(Category))
@pytest.mark.parametrize("level", [None, *ComplaintLevel])
def test_urgent_means_an_alarm_or_a_level_1_complaint(category: Category, level: ComplaintLevel | None) -> None:
    assert is_urgent(category, level) == (category is Category.ALARM or level is ComplaintLevel.MAJOR)


@pytest.mark.parametrize(
    ("urgent", "has_division", "expected"),
    [
        (False, True, (Escalation("division", "breach"),)),
        (False, False, (Escalation("center", "breach"),)),  # the center's own step (dispatch): no division
        (True, True, (Escalation("division", "breach"), Escalation("center", "urgent", notice=True))),
        (True, False, (Escalation("center", "urgent", notice=True),)),
    ],
)
def test_the_rungs_reached_at_breach(urgent: bool, has_division: bool, expected: tuple[Escalation, ...]) -> None:
    assert at_breach(urgent=urgent, has_division=has_division) == expected


@pytest.mark.parametrize(("urgent", "has_division"), list(itertools.product([False, True], repeat=2)))
def test_every_breach_tells_someone_and_the_center_at_most_once(urgent: bool, has_division: bool) -> None:
    steps = at_breach(urgent=urgent, has_division=has_division)
    assert steps
    assert sum(1 for s in steps if s.to_level == "center") <= 1
    assert all(s.notice == (s.reason == "urgent") for s in steps)  # only urgent escalations phone / SMS


@pytest.mark.parametrize(
    ("breached", "center_told", "expected"),
    [
        (True, False, Escalation("center", "further_limit_passed")),
        (True, True, None),  # urgent tickets and division-less clocks reached the center at breach
        (False, False, None),  # a clock that stopped in time is never escalated
        (False, True, None),
    ],
)
def test_one_more_full_limit_after_the_breach_reaches_the_center_once(
    breached: bool, center_told: bool, expected: Escalation | None
) -> None:
    assert after_further_limit(breached=breached, center_told=center_told) == expected


def test_the_unit_clocks_are_the_clocks_that_run_from_dispatch() -> None:
    assert UNIT_CLOCKS == (SlaClock.CONTACT, SlaClock.HANDLE, SlaClock.RESOLVE)
    # every clock of every category is a unit clock, or the center's dispatch before or callback after them
    assert set(SlaClock) - set(UNIT_CLOCKS) == {SlaClock.DISPATCH, SlaClock.CALLBACK}
    assert SlaClock.HANDLE in clocks_for(Category.COMPLAINT) and SlaClock.CONTACT in clocks_for(Category.REPAIR)


@pytest.mark.parametrize(
    ("facts", "score"),
    [
        ({}, 0),
        ({"key_customer": True}, 1),
        ({"urgent": True}, 1),
        ({"hazardous": True}, 1),
        ({"key_customer": True, "urgent": True, "hazardous": True}, 3),
        ({"complaint_level": ComplaintLevel.MINOR}, 0),
        ({"complaint_level": ComplaintLevel.GENERAL}, 1),
        ({"complaint_level": ComplaintLevel.MAJOR}, 2),
        ({"hazardous": True, "complaint_level": ComplaintLevel.MAJOR}, 3),
    ],
)
def test_a_callbacks_priority_score(facts: dict[str, object], score: int) -> None:
    values: dict[str, object] = {"key_customer": False, "urgent": False, "hazardous": False, "complaint_level": None}
    assert priority_score(**{**values, **facts}) == score  # type: ignore[arg-type]


def _key(
    deadline_minutes: int | None,
    *,
    hazardous: bool = False,
    urgent: bool = False,
    key: bool = False,
    level: ComplaintLevel | None = None,
    age: int = 0,
):  # type: ignore[no-untyped-def]
    deadline = None if deadline_minutes is None else T0 + timedelta(minutes=deadline_minutes)
    priority = priority_score(key_customer=key, urgent=urgent, hazardous=hazardous, complaint_level=level)
    return work_order(deadline=deadline, priority=priority, since=T0 - timedelta(minutes=age))


def test_the_inbox_puts_the_nearest_deadline_first_whatever_the_priority() -> None:
    assert _key(10) < _key(20, hazardous=True, urgent=True, key=True)
    assert _key(600) < _key(None, hazardous=True)  # a ticket with no running clock comes last


def test_at_the_same_deadline_the_higher_priority_then_the_oldest() -> None:
    # RULES.md §9: one priority (importance, hazard, urgency, the complaint's grade) for every queue
    ordered = [
        _key(30, hazardous=True, urgent=True, key=True),
        _key(30, urgent=True, key=True, age=5),
        _key(30, level=ComplaintLevel.MAJOR, age=1),
        _key(30, hazardous=True, age=9),
        _key(30, key=True, age=5),
        _key(30, level=ComplaintLevel.GENERAL, age=1),
        _key(30, age=9),
        _key(30, level=ComplaintLevel.MINOR, age=2),
    ]
    assert sorted(ordered) == ordered


@given(
    st.lists(
        st.tuples(st.one_of(st.none(), st.integers(0, 5_000)), st.booleans(), st.booleans(), st.booleans()),
        min_size=2,
        max_size=30,
    )
)
def test_priority_never_overtakes_an_earlier_deadline(rows: list[tuple[int | None, bool, bool, bool]]) -> None:
    keys = sorted(_key(d, hazardous=h, urgent=u, key=k) for d, h, u, k in rows)
    deadlines = [k[1] for k in keys]
    running = [d for d in deadlines if d is not None]
    assert running == sorted(running)
    assert deadlines[len(running) :] == [None] * (len(deadlines) - len(running))
