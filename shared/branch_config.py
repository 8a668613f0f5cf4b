"""Loads branch policy files and national-schedule year files from the packaged and admin folders."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shared.policy.branch import (
    BranchConfigError,
    BranchPolicy,
    branch_policy_from_mapping,
    year_schedule_from_mapping,
)
from shared.policy.calendar import WorkingDayCalendar, YearSchedule, national_schedules

PACKAGED_DIR = Path(__file__).parent / "config"
DEFAULT_BRANCH = "default"


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
    """Each branch's policy file read once, and the national calendar: what a service computes rules with."""

    def __init__(self, calendar: WorkingDayCalendar | None = None) -> None:
        self._calendar = calendar if calendar is not None else load_calendar()
        self._branches: dict[str, BranchPolicy] = {}

    @property
    def calendar(self) -> WorkingDayCalendar:
        return self._calendar

    def branch(self, code: str) -> BranchPolicy:
        """The branch's policy; BranchConfigError for a branch with no (or a bad) file."""
        cached = self._branches.get(code)
        if cached is None:
            cached = self._branches[code] = load_branch(code)
        return cached

    def reload(self) -> tuple[int, ...]:
        """Read the calendar and the branch files again (a year or an override was added)."""
        self._calendar = load_calendar()
        self._branches.clear()
        return self._calendar.years
