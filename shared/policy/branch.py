"""A branch's policy: time zone, stricter local limits, quiet window, calendar overrides (RULES.md §2-§5)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.policy.assessment import AssessmentConfigError, AssessmentWeights, assessment_weights_from_mapping
from shared.policy.calendar import DateOverride, YearSchedule
from shared.policy.callbacks import QuietWindow, RetryRule
from shared.policy.categories import DEFAULT_RANK, Category
from shared.policy.grading import GradingRules
from shared.policy.hot_spots import HotSpotConfigError, HotSpotRules, hot_spot_rules_from_mapping
from shared.policy.limits import (
    COMPLAINT_HANDLE,
    REGULATION_LIMITS,
    ComplaintLevel,
    Limit,
    LimitOverrides,
    SlaClock,
)
from shared.policy.survey import SurveyConfigError, SurveyQuestions, survey_questions_from_mapping

DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class BranchPolicy:
    """Everything per-branch that the rules depend on; defaults are the regulation's and RULES.md's."""

    code: str = "default"
    name: str = "Default branch"
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIMEZONE))
    limits: LimitOverrides = field(default_factory=LimitOverrides.none)
    quiet_window: QuietWindow = field(default_factory=QuietWindow)
    retry: RetryRule = field(default_factory=RetryRule)
    grading: GradingRules = field(default_factory=GradingRules)
    rank: tuple[Category, ...] = DEFAULT_RANK
    calendar_overrides: Mapping[date, DateOverride] = field(default_factory=dict)
    warning_ratio: float = 0.8  # RULES.md §8 policy default: warn at 80 % of a limit
    strict_calendar: bool = False  # RULES.md §3: refuse deadlines in a year with no schedule
    hot_spots: HotSpotRules = field(default_factory=HotSpotRules)  # RULES.md §7 policy defaults
    assessment: AssessmentWeights = field(default_factory=AssessmentWeights)  # RULES.md §7 policy defaults
    survey: SurveyQuestions = field(default_factory=SurveyQuestions)  # RULES.md §7: questions per category


class BranchConfigError(ValueError):
    """A branch or calendar file that cannot be used; the message names the field."""


def _stricter(key: str, override: Limit, regulation: Limit) -> Limit:
    # RULES.md §2 (§14(六)): a local standard may only be stricter than the regulation.
    if override.unit is not regulation.unit:
        raise BranchConfigError(f"{key}: {override} must be in the same unit as the regulation's {regulation}")
    if override.amount > regulation.amount:
        raise BranchConfigError(f"{key}: {override} is looser than the regulation's {regulation}")
    return override


def _limit(key: str, value: Any) -> Limit:
    try:
        return Limit.parse(str(value))
    except ValueError as error:
        raise BranchConfigError(f"{key}: {error}") from None


def _clock_time(key: str, value: Any) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise BranchConfigError(f"{key}: {value!r} is not a time like '21:00'") from None


def _day(key: str, value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise BranchConfigError(f"{key}: {value!r} is not a date like '2026-10-01'") from None


def _limit_overrides(section: Mapping[str, Any]) -> LimitOverrides:
    by_clock: dict[tuple[Category, SlaClock], Limit] = {}
    handle: dict[ComplaintLevel, Limit] = {}
    for category_key, clocks in section.items():
        try:
            category = Category(category_key)
        except ValueError:
            raise BranchConfigError(f"limits.{category_key}: unknown category") from None
        if not isinstance(clocks, Mapping):
            raise BranchConfigError(f"limits.{category_key}: expected a table of clock = limit")
        for clock_key, value in clocks.items():
            key = f"limits.{category_key}.{clock_key}"
            if category is Category.COMPLAINT and clock_key.startswith("handle_level_"):
                try:
                    level = ComplaintLevel(int(clock_key.removeprefix("handle_level_")))
                except ValueError:
                    raise BranchConfigError(f"{key}: levels are 1, 2 and 3") from None
                handle[level] = _stricter(key, _limit(key, value), COMPLAINT_HANDLE[level])
                continue
            try:
                clock = SlaClock(clock_key)
            except ValueError:
                raise BranchConfigError(f"{key}: unknown clock") from None
            regulation = REGULATION_LIMITS[category].get(clock)
            if regulation is None:
                raise BranchConfigError(f"{key}: {category.value} has no {clock.value} clock")
            by_clock[(category, clock)] = _stricter(key, _limit(key, value), regulation)
    return LimitOverrides(by_clock=by_clock, complaint_handle=handle)


def branch_policy_from_mapping(code: str, data: Mapping[str, Any]) -> BranchPolicy:
    """Build a BranchPolicy from a parsed branch file (TOML); every field optional but validated."""
    zone_name = str(data.get("timezone", DEFAULT_TIMEZONE))
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BranchConfigError(f"timezone: unknown time zone {zone_name!r}") from None
    callback = data.get("callback", {})
    quiet = QuietWindow(
        _clock_time("callback.quiet_start", callback.get("quiet_start", "21:00")),
        _clock_time("callback.quiet_end", callback.get("quiet_end", "08:00")),
    )
    retry = RetryRule(
        min_gap=timedelta(minutes=int(callback.get("min_gap_minutes", 120))),
        attempts=int(callback.get("attempts", 3)),
    )
    if retry.min_gap < timedelta(hours=2) or retry.attempts < 3:
        # RULES.md §5: >= 3 attempts, >= 2 h apart is the regulation's floor.
        raise BranchConfigError("callback: at least 3 attempts at least 120 minutes apart")
    grading_data = data.get("grading", {})
    grading = GradingRules(
        window_days=int(grading_data.get("window_days", 30)),
        distinct_complainants=int(grading_data.get("distinct_complainants", 5)),
        collective_size=int(grading_data.get("collective_size", 5)),
        same_customer_repeats=int(grading_data.get("same_customer_repeats", 5)),
    )
    overrides: dict[date, DateOverride] = {}
    for raw_day, entry in data.get("calendar", {}).get("overrides", {}).items():
        day = _day(f"calendar.overrides.{raw_day}", raw_day)
        if not isinstance(entry, Mapping) or not isinstance(entry.get("working"), bool):
            raise BranchConfigError(
                f'calendar.overrides.{raw_day}: expected {{ working = true|false, reason = "..." }}'
            )
        overrides[day] = DateOverride(day, bool(entry["working"]), str(entry.get("reason", "")))
    warning_ratio = float(data.get("warning_ratio", 0.8))
    if not 0 < warning_ratio < 1:
        raise BranchConfigError("warning_ratio: must be between 0 and 1")
    rank = DEFAULT_RANK
    if "rank" in data:
        try:
            rank = tuple(Category(c) for c in data["rank"])
        except ValueError:
            raise BranchConfigError("rank: lists category keys, highest first") from None
        if set(rank) != set(Category) or len(rank) != len(Category):
            raise BranchConfigError("rank: must list every category exactly once")
    try:
        hot_spots = hot_spot_rules_from_mapping(data.get("hot_spots", {}))
        assessment = assessment_weights_from_mapping(data.get("assessment", {}))
        survey = survey_questions_from_mapping(data.get("survey", {}))
    except (HotSpotConfigError, AssessmentConfigError, SurveyConfigError) as error:
        raise BranchConfigError(str(error)) from None
    return BranchPolicy(
        code=code,
        name=str(data.get("name", code)),
        timezone=zone,
        limits=_limit_overrides(data.get("limits", {})),
        quiet_window=quiet,
        retry=retry,
        grading=grading,
        rank=rank,
        calendar_overrides=overrides,
        warning_ratio=warning_ratio,
        strict_calendar=bool(data.get("strict_calendar", False)),
        hot_spots=hot_spots,
        assessment=assessment,
        survey=survey,
    )


def year_schedule_from_mapping(data: Mapping[str, Any], source: str = "") -> YearSchedule:
    """Build a YearSchedule from a year file: `year`, `[holidays]` and `[makeup_workdays]` tables.

    Keys are a date ('2027-01-01') or an inclusive range ('2027-02-15..2027-02-23'); values the name.
    """
    try:
        year = int(data["year"])
    except (KeyError, ValueError, TypeError):
        raise BranchConfigError("year: a year file needs `year = YYYY`") from None

    def expand(section: str) -> dict[date, str]:
        days: dict[date, str] = {}
        for key, name in data.get(section, {}).items():
            first_raw, _, last_raw = str(key).partition("..")
            first = _day(f"{section}.{key}", first_raw)
            last = _day(f"{section}.{key}", last_raw) if last_raw else first
            if last < first:
                raise BranchConfigError(f"{section}.{key}: the range ends before it starts")
            day = first
            while day <= last:
                days[day] = str(name)
                day += timedelta(days=1)
        return days

    try:
        return YearSchedule(year, expand("holidays"), expand("makeup_workdays"), source=source)
    except ValueError as error:
        raise BranchConfigError(str(error)) from None
