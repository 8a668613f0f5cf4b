"""The one branch-policy cache: read once, reloadable, one rule for a branch without a file."""

from __future__ import annotations

import pytest

from shared.branch_config import BranchPolicies, load_branch, load_calendar
from shared.policy import BranchConfigError, BranchPolicy, WorkingDayCalendar

pytestmark = pytest.mark.unit


class CountingLoader:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, code: str) -> BranchPolicy:
        self.calls.append(code)
        return load_branch(code)


def test_a_branch_file_is_read_once_until_reload() -> None:
    loader = CountingLoader()
    calendars: list[WorkingDayCalendar] = []

    def calendar() -> WorkingDayCalendar:
        calendars.append(load_calendar())
        return calendars[-1]

    policies = BranchPolicies(branch_loader=loader, calendar_loader=calendar)
    assert policies.branch("demo") is policies.branch("demo")
    assert loader.calls == ["demo"]
    assert policies.reload() == calendars[-1].years
    policies.branch("demo")
    assert loader.calls == ["demo", "demo"]
    assert len(calendars) == 2 and policies.calendar is calendars[-1]


def test_an_unknown_branch_is_refused_at_the_edge() -> None:
    with pytest.raises(BranchConfigError, match="unknown branch 'atlantis'"):
        BranchPolicies().branch("atlantis")


def test_work_already_in_the_system_uses_the_default_branchs_policy_under_its_own_code(
    caplog: pytest.LogCaptureFixture,
) -> None:
    policies = BranchPolicies()
    fallback = policies.for_event("atlantis")
    default = load_branch(None)
    assert fallback.code == "atlantis"
    assert (fallback.timezone, fallback.warning_ratio, fallback.quiet_window, fallback.limits) == (
        default.timezone,
        default.warning_ratio,
        default.quiet_window,
        default.limits,
    )
    assert policies.for_event("atlantis") is fallback  # decided (and logged) once per branch
    assert policies.for_event("demo") is policies.branch("demo")


def test_the_center_of_a_branch_comes_from_its_org_file() -> None:
    policies = BranchPolicies()
    assert policies.center_id("atlantis") is None
    assert isinstance(policies.center_id("demo"), str)
