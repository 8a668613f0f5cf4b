"""Complaint grading of RULES.md §4: the scenarios of the intake issue and the rules' edges."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from shared.policy.grading import Complaint, GradeReason, SubjectKey, grade_complaint, regrade_open_complaints
from shared.policy.limits import ComplaintLevel
from tests.unit.policy.conftest import SHANGHAI, at

pytestmark = pytest.mark.unit
L1, L2, L3 = ComplaintLevel.MAJOR, ComplaintLevel.GENERAL, ComplaintLevel.MINOR


def complaint(n: int, who: str, when: datetime, **flags: object) -> Complaint:
    return Complaint(ticket_id=f"T{n}", complainant=who, received_at=when, **flags)  # type: ignore[arg-type]


def history_of(*people: str, start: datetime, every: timedelta) -> list[Complaint]:
    return [complaint(i, who, start + every * i) for i, who in enumerate(people)]


def test_four_distinct_complainants_in_thirty_days_stay_level_three() -> None:
    earlier = history_of("a", "b", "c", start=at("2026-11-01 10:00"), every=timedelta(days=5))
    assert grade_complaint(complaint(9, "d", at("2026-11-20 10:00")), earlier, SHANGHAI).level is L3


def test_the_fifth_distinct_complainant_lifts_to_level_two() -> None:
    earlier = history_of("a", "b", "c", "d", start=at("2026-11-01 10:00"), every=timedelta(days=5))
    grade = grade_complaint(complaint(9, "e", at("2026-11-25 10:00")), earlier, SHANGHAI)
    assert grade.level is L2 and GradeReason.DISTINCT_COMPLAINANTS in grade.reasons


def test_five_complainants_spread_over_thirty_one_days_do_not() -> None:
    # 1 November .. 1 December is 31 calendar days: the first falls out of the 30-day window.
    earlier = history_of("a", "b", "c", "d", start=at("2026-11-01 09:00"), every=timedelta(days=7))
    assert grade_complaint(complaint(9, "e", at("2026-12-01 08:00")), earlier, SHANGHAI).level is L3
    # ... while 2 November .. 1 December (30 calendar days) does lift.
    earlier = history_of("a", "b", "c", "d", start=at("2026-11-02 09:00"), every=timedelta(days=7))
    assert grade_complaint(complaint(9, "e", at("2026-12-01 08:00")), earlier, SHANGHAI).level is L2


def test_the_same_complainant_twice_counts_once_towards_level_two() -> None:
    earlier = history_of("a", "a", "b", "c", start=at("2026-11-01 10:00"), every=timedelta(days=1))
    assert grade_complaint(complaint(9, "d", at("2026-11-10 10:00")), earlier, SHANGHAI).level is L3


def test_the_same_customers_fifth_complaint_is_level_one() -> None:
    earlier = history_of("a", "a", "a", "a", start=at("2026-06-01 10:00"), every=timedelta(days=40))
    grade = grade_complaint(complaint(9, "a", at("2026-12-01 10:00")), earlier, SHANGHAI)
    assert grade.level is L1 and GradeReason.SAME_CUSTOMER_REPEATS in grade.reasons
    fourth = grade_complaint(complaint(9, "a", at("2026-12-01 10:00")), earlier[:3], SHANGHAI)
    assert fourth.level is L3


@pytest.mark.parametrize("flag", ["litigation", "media_exposure"])
def test_litigation_or_media_gives_level_one_at_once(flag: str) -> None:
    assert grade_complaint(complaint(1, "a", at("2026-11-25 10:00"), **{flag: True}), [], SHANGHAI).level is L1


def test_a_collective_complaint_of_five_is_level_two() -> None:
    assert grade_complaint(complaint(1, "a", at("2026-11-25 10:00"), complainants=5), [], SHANGHAI).level is L2
    assert grade_complaint(complaint(1, "a", at("2026-11-25 10:00"), complainants=4), [], SHANGHAI).level is L3


def test_the_agents_more_severe_preliminary_grade_is_kept() -> None:
    kept = grade_complaint(complaint(1, "a", at("2026-11-25 10:00"), preliminary=L2), [], SHANGHAI)
    assert kept.level is L2 and kept.reasons == (GradeReason.PRELIMINARY,)
    lifted = grade_complaint(complaint(1, "a", at("2026-11-25 10:00"), preliminary=L2, litigation=True), [], SHANGHAI)
    assert lifted.level is L1


def test_later_complaints_do_not_change_a_replayed_grade() -> None:
    later = history_of("b", "c", "d", "e", start=at("2026-11-26 10:00"), every=timedelta(hours=1))
    assert grade_complaint(complaint(9, "a", at("2026-11-25 10:00")), later, SHANGHAI).level is L3


def test_regrade_lifts_open_complaints_and_never_lowers() -> None:
    regrades = regrade_open_complaints(L2, [("T1", L3), ("T2", L1), ("T3", L2), ("T4", L3)])
    assert [(r.ticket_id, r.previous, r.level) for r in regrades] == [("T1", L3, L2), ("T4", L3, L2)]
    assert regrade_open_complaints(L3, [("T1", L3)]) == []


def test_subject_key_ignores_typing_noise() -> None:
    assert SubjectKey.of("GX", " Qingxiu  Garden B3 ", "Meter ") == SubjectKey.of("GX", "qingxiu garden b3", "meter")
