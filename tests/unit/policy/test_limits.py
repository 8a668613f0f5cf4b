"""The clocks-and-limits table of RULES.md §2, applied from a start instant, with branch overrides."""

from __future__ import annotations

import pytest

from shared.policy.branch import BranchConfigError, BranchPolicy, branch_policy_from_mapping
from shared.policy.calendar import WorkingDayCalendar
from shared.policy.categories import Category, PolicyError
from shared.policy.deadlines import deadline_for, warning_for
from shared.policy.limits import (
    CallbackKind,
    ComplaintLevel,
    Limit,
    SlaClock,
    callback_kind,
    clocks_for,
    limit_for,
)
from tests.unit.policy.conftest import at

pytestmark = pytest.mark.unit

C, K = Category, SlaClock
START = "2026-11-25 10:00"  # a Wednesday with plain working days around it

# Every (category, clock) the table defines, with its deadline from START.
TABLE = [
    (C.CONSULTATION, K.DISPATCH, None, "2026-11-25 10:20"),
    (C.CONSULTATION, K.RESOLVE, None, "2026-11-26 10:00"),
    (C.CONSULTATION, K.CALLBACK, None, "2026-11-26 10:00"),
    (C.ALARM, K.DISPATCH, None, "2026-11-25 10:05"),
    (C.ALARM, K.CALLBACK, None, "2026-11-26 10:00"),
    (C.REPAIR, K.DISPATCH, None, "2026-11-25 10:05"),
    (C.REPAIR, K.CONTACT, None, "2026-11-25 12:00"),
    (C.REPAIR, K.RESOLVE, None, "2026-11-30 10:00"),  # Thu, Fri, Mon
    (C.REPAIR, K.CALLBACK, None, "2026-11-26 10:00"),
    (C.SERVICE_REQUEST, K.DISPATCH, None, "2026-11-25 10:20"),
    (C.SERVICE_REQUEST, K.CONTACT, None, "2026-11-26 10:00"),
    (C.SERVICE_REQUEST, K.RESOLVE, None, "2026-12-04 10:00"),  # 7 wd
    (C.SERVICE_REQUEST, K.CALLBACK, None, "2026-11-26 10:00"),
    (C.COMPLAINT, K.DISPATCH, None, "2026-11-25 10:05"),
    (C.COMPLAINT, K.HANDLE, ComplaintLevel.MINOR, "2026-11-25 13:00"),
    (C.COMPLAINT, K.HANDLE, ComplaintLevel.GENERAL, "2026-11-26 10:00"),
    (C.COMPLAINT, K.HANDLE, ComplaintLevel.MAJOR, "2026-11-27 10:00"),
    (C.COMPLAINT, K.RESOLVE, None, "2026-11-27 10:00"),
    (C.COMPLAINT, K.CALLBACK, None, "2026-11-26 10:00"),
    (C.REPORT, K.DISPATCH, None, "2026-11-25 10:20"),
    (C.REPORT, K.RESOLVE, None, "2026-12-02 10:00"),  # 5 wd
    (C.REPORT, K.CALLBACK, None, "2026-11-26 10:00"),
    (C.OPINION, K.DISPATCH, None, "2026-11-25 10:20"),
    (C.OPINION, K.RESOLVE, None, "2026-12-02 10:00"),
    (C.OPINION, K.CALLBACK, None, "2026-11-26 10:00"),
    (C.SUGGESTION, K.DISPATCH, None, "2026-11-25 10:20"),
    (C.SUGGESTION, K.RESOLVE, None, "2026-12-02 10:00"),
    (C.SUGGESTION, K.CALLBACK, None, "2026-11-26 10:00"),
    (C.PRAISE, K.DISPATCH, None, "2026-11-25 10:20"),
]


@pytest.mark.parametrize(("category", "clock", "level", "expected"), TABLE)
def test_every_clock_of_every_category(
    calendar: WorkingDayCalendar,
    branch: BranchPolicy,
    category: Category,
    clock: SlaClock,
    level: ComplaintLevel | None,
    expected: str,
) -> None:
    result = deadline_for(category, clock, at(START), branch, calendar, level=level)
    assert result.at == at(expected)
    assert not result.provisional


def test_the_table_covers_exactly_the_clocks_each_category_runs() -> None:
    listed = {(c, k) for c, k, _, _ in TABLE}
    assert listed == {(c, k) for c in Category for k in clocks_for(c)}


@pytest.mark.parametrize(
    ("category", "clock"),
    [(c, k) for c in Category for k in SlaClock if k not in clocks_for(c)],
)
def test_a_clock_the_category_does_not_have_is_refused(category: Category, clock: SlaClock) -> None:
    with pytest.raises(PolicyError) as raised:
        limit_for(category, clock)
    assert raised.value.argument == "--clock"


def test_complaint_handle_needs_a_level_and_level_is_for_complaints_only() -> None:
    with pytest.raises(PolicyError, match="level") as raised:
        limit_for(C.COMPLAINT, K.HANDLE)
    assert raised.value.argument == "--level"
    with pytest.raises(PolicyError) as raised:
        limit_for(C.REPAIR, K.RESOLVE, level=ComplaintLevel.MINOR)
    assert raised.value.argument == "--level"


def test_refused_service_request_feedback_is_two_working_days(
    calendar: WorkingDayCalendar, branch: BranchPolicy
) -> None:
    result = deadline_for(C.SERVICE_REQUEST, K.RESOLVE, at(START), branch, calendar, refused=True)
    assert result.at == at("2026-11-27 10:00")
    with pytest.raises(PolicyError):
        limit_for(C.REPAIR, K.RESOLVE, refused=True)


def test_callback_kind_per_category() -> None:
    assert callback_kind(C.CONSULTATION) is CallbackKind.REPLY
    assert callback_kind(C.SUGGESTION) is CallbackKind.REPLY
    assert callback_kind(C.QUERY) is None and callback_kind(C.PRAISE) is None
    for category in (C.ALARM, C.REPAIR, C.SERVICE_REQUEST, C.COMPLAINT, C.REPORT, C.OPINION):
        assert callback_kind(category) is CallbackKind.SURVEY


def test_minute_limits_are_natural_time_even_on_holidays(calendar: WorkingDayCalendar, branch: BranchPolicy) -> None:
    assert deadline_for(C.REPAIR, K.CONTACT, at("2026-10-01 23:00"), branch, calendar).at == at("2026-10-02 01:00")


def test_a_stricter_local_complaint_limit_replaces_the_regulation(calendar: WorkingDayCalendar) -> None:
    local = branch_policy_from_mapping("gx", {"limits": {"complaint": {"handle_level_3": "2h", "resolve": "1wd"}}})
    level3 = deadline_for(C.COMPLAINT, K.HANDLE, at(START), local, calendar, level=ComplaintLevel.MINOR)
    assert level3.at == at("2026-11-25 12:00")
    level2 = deadline_for(C.COMPLAINT, K.HANDLE, at(START), local, calendar, level=ComplaintLevel.GENERAL)
    assert level2.at == at("2026-11-26 10:00")  # not overridden
    assert deadline_for(C.COMPLAINT, K.RESOLVE, at(START), local, calendar).at == at("2026-11-26 10:00")


@pytest.mark.parametrize(
    ("limits", "fragment"),
    [
        ({"complaint": {"handle_level_3": "4h"}}, "looser"),
        ({"complaint": {"handle_level_3": "1wd"}}, "same unit"),
        ({"complaint": {"handle_level_9": "1h"}}, "levels"),
        ({"alarm": {"contact": "1h"}}, "no contact clock"),
        ({"gasleak": {"dispatch": "1min"}}, "unknown category"),
        ({"repair": {"contact": "soon"}}, "cannot read limit"),
    ],
)
def test_bad_branch_limits_are_refused_naming_the_field(limits: dict[str, object], fragment: str) -> None:
    with pytest.raises(BranchConfigError, match=fragment):
        branch_policy_from_mapping("x", {"limits": limits})


def test_branch_file_fields_are_validated() -> None:
    with pytest.raises(BranchConfigError, match="timezone"):
        branch_policy_from_mapping("x", {"timezone": "Mars/Olympus"})
    with pytest.raises(BranchConfigError, match="callback"):
        branch_policy_from_mapping("x", {"callback": {"attempts": 2}})
    with pytest.raises(BranchConfigError, match="rank"):
        branch_policy_from_mapping("x", {"rank": ["alarm"]})
    with pytest.raises(BranchConfigError, match=r"calendar\.overrides"):
        branch_policy_from_mapping("x", {"calendar": {"overrides": {"2026-10-01": {"working": "yes"}}}})


def test_warning_comes_at_eighty_percent_of_the_limit(calendar: WorkingDayCalendar, branch: BranchPolicy) -> None:
    assert warning_for(at(START), Limit.hours(2), branch, calendar).at == at("2026-11-25 11:36")
    # Friday 15:00 + 1 wd: 80 % of 24 working hours = 19.2 h -> Monday 10:12.
    assert warning_for(at("2026-11-27 15:00"), Limit.working_days(1), branch, calendar).at == at("2026-11-30 10:12")


@pytest.mark.parametrize(
    ("text", "limit"), [("20min", Limit.minutes(20)), ("2h", Limit.hours(2)), ("3wd", Limit.working_days(3))]
)
def test_limits_read_and_print_as_written(text: str, limit: Limit) -> None:
    assert Limit.parse(text) == limit and str(limit) == text
