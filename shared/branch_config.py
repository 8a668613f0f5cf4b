"""Loads branch policy files and national-schedule year files from the packaged and admin folders."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import structlog

from shared.policy.branch import (
    BranchConfigError,
    BranchPolicy,
    branch_policy_from_mapping,
    year_schedule_from_mapping,
)
from shared.policy.calendar import WorkingDayCalendar, YearSchedule, national_schedules

PACKAGED_DIR = Path(__file__).parent / "config"
DEFAULT_BRANCH = "default"
_log = structlog.get_logger(__name__)


def config_dirs(env: Mapping[str, str] | None = None) -> list[Path]:
    """Folders searched, first wins: $HOTLINE_CONFIG_DIR (or the user's config folder), then packaged."""
    env = os.environ if env is None else env
    admin = env.get("HOTLINE_CONFIG_DIR")
    if admin:
        first = Path(admin)
    else:
        first = Path(env.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "hotline"
    return [first, PACKAGED_DIR]


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise BranchConfigError(f"{path}: {error}") from None


def branch_codes(env: Mapping[str, str] | None = None) -> list[str]:
    codes = {p.stem for d in config_dirs(env) for p in d.glob("branches/*.toml")}
    return sorted(codes)


_BRANCH_CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def is_configured_branch(code: str, env: Mapping[str, str] | None = None) -> bool:
    """True when a branch file exists for `code` (read each time: an admin may add one at run time)."""
    if not _BRANCH_CODE.match(code):
        return False
    return any((folder / "branches" / f"{code}.toml").is_file() for folder in config_dirs(env))


def load_branch(code: str | None = None, env: Mapping[str, str] | None = None) -> BranchPolicy:
    """The policy of branch `code` (the default branch when None); unknown codes are an error."""
    code = code or DEFAULT_BRANCH
    for folder in config_dirs(env):
        path = folder / "branches" / f"{code}.toml"
        if path.is_file():
            try:
                return branch_policy_from_mapping(code, _read_toml(path))
            except BranchConfigError as error:
                raise BranchConfigError(f"branch {code!r} ({path}): {error}") from None
    known = ", ".join(branch_codes(env)) or "none"
    raise BranchConfigError(f"unknown branch {code!r}; configured branches: {known}")


def org_center_id(branch: str, env: Mapping[str, str] | None = None) -> str | None:
    """The center id of the branch's org file (`[center] id`), None when it has none."""
    for folder in config_dirs(env):
        path = folder / "orgs" / f"{branch}.toml"
        if path.is_file():
            center = _read_toml(path).get("center")
            found = center.get("id") if isinstance(center, dict) else None
            return found if isinstance(found, str) else None
    return None


def load_year_files(env: Mapping[str, str] | None = None) -> dict[int, YearSchedule]:
    """Year files from every folder; an admin's file wins over a packaged one for the same year."""
    years: dict[int, YearSchedule] = {}
    for folder in reversed(config_dirs(env)):
        for path in sorted(folder.glob("calendars/*.toml")):
            try:
                schedule = year_schedule_from_mapping(_read_toml(path), source=str(path))
            except BranchConfigError as error:
                raise BranchConfigError(f"{path}: {error}") from None
            if path.stem != str(schedule.year):
                raise BranchConfigError(f"{path}: the file of year {schedule.year} must be named {schedule.year}.toml")
            years[schedule.year] = schedule
    return years


def load_calendar(env: Mapping[str, str] | None = None) -> WorkingDayCalendar:
    """The national calendar: the chinesecalendar package's years, then year files on top."""
    return WorkingDayCalendar(dict(national_schedules())).with_schedules(load_year_files(env).values())


class BranchPolicies:
    """The one cache of branch policies every service computes rules with, and the national calendar.

    Each branch's file is read once and kept until `reload()` (a year file or an override was added: the
    SLA monitor reloads on its calendar endpoint, every service can). One rule for an unknown branch:
    `branch()` refuses it (BranchConfigError: the HTTP edge answers 404 `unknown_branch` or a 422 naming the
    field, never a silent fallback); `for_event()`, for a ticket already in the system whose branch has no
    (or a bad) file, uses the default branch's policy and says so once per branch at WARNING.
    """

    def __init__(
        self,
        calendar: WorkingDayCalendar | None = None,
        *,
        branch_loader: Callable[[str], BranchPolicy] = load_branch,
        calendar_loader: Callable[[], WorkingDayCalendar] = load_calendar,
    ) -> None:
        self._load_branch = branch_loader
        self._load_calendar = calendar_loader
        self._calendar = calendar if calendar is not None else calendar_loader()
        self._branches: dict[str, BranchPolicy] = {}
        self._fallbacks: dict[str, BranchPolicy] = {}
        self._centers: dict[str, str | None] = {}

    @property
    def calendar(self) -> WorkingDayCalendar:
        return self._calendar

    def branch(self, code: str) -> BranchPolicy:
        """The branch's policy; BranchConfigError for a branch with no (or a bad) file."""
        cached = self._branches.get(code)
        if cached is None:
            cached = self._branches[code] = self._load_branch(code)
        return cached

    def for_event(self, code: str) -> BranchPolicy:
        """The branch's policy for work already accepted (a consumed event): the default branch's when it has none."""
        try:
            return self.branch(code)
        except BranchConfigError as error:
            fallback = self._fallbacks.get(code)
            if fallback is None:
                _log.warning("branch_policy_missing_using_default", branch=code, error=str(error))
                fallback = self._fallbacks[code] = replace(self._load_branch(DEFAULT_BRANCH), code=code)
            return fallback

    def center_id(self, code: str) -> str | None:
        """The center of the branch's org file (None without one), read once."""
        if code not in self._centers:
            try:
                self._centers[code] = org_center_id(code)
            except (BranchConfigError, OSError, ValueError):
                self._centers[code] = None
        return self._centers[code]

    def reload(self) -> tuple[int, ...]:
        """Read the calendar and the branch files again (a year or an override was added)."""
        self._calendar = self._load_calendar()
        self._branches.clear()
        self._fallbacks.clear()
        self._centers.clear()
        return self._calendar.years
