"""The branch policies and the working-day calendar the monitor computes deadlines with, cached and reloadable."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from services.sla_monitor.handlers import PolicyView
from shared.branch_config import load_branch, load_calendar, org_center_id
from shared.policy import BranchConfigError, BranchPolicy, WorkingDayCalendar

log = structlog.get_logger(__name__)


class PolicyBook:
    """One PolicyView per branch, loaded once; `reload()` reads the calendar and branch files again."""

    def __init__(
        self,
        branch_loader: Callable[[str], BranchPolicy] = load_branch,
        calendar_loader: Callable[[], WorkingDayCalendar] = load_calendar,
    ) -> None:
        self._load_branch = branch_loader
        self._load_calendar = calendar_loader
        self._calendar = calendar_loader()
        self._views: dict[str, PolicyView] = {}

    @property
    def calendar(self) -> WorkingDayCalendar:
        return self._calendar

    def view(self, branch: str) -> PolicyView:
        view = self._views.get(branch)
        if view is None:
            try:
                policy = self._load_branch(branch)
            except BranchConfigError as error:
                # a ticket of a branch without a file is still timed, on the regulation's own limits
                log.warning("branch_policy_missing", branch=branch, error=str(error))
                policy = BranchPolicy(code=branch)
            try:
                center = org_center_id(branch)
            except (BranchConfigError, OSError, ValueError):
                center = None
            view = self._views[branch] = PolicyView(policy, self._calendar, center)
        return view

    def reload(self) -> tuple[int, ...]:
        """Reload the calendar and forget every branch; returns the years the calendar now knows."""
        self._calendar = self._load_calendar()
        self._views.clear()
        return self._calendar.years
