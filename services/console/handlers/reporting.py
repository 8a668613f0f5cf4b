"""Issue 18, supervision in the console: bulletins, figures, the wallboard's feed, the callback survey's questions.

Every figure comes from the reporting service (and the SLA monitor's due list, intake's call counts) with the
person's own token,
so the scope (a division sees its own units) is the services' decision; the console only lays it out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from services.console.clients import ApiFailure, Apis
from shared.branch_config import BranchPolicies
from shared.policy.branch import BranchConfigError
from shared.policy.categories import Category
from shared.policy.limits import SlaClock
from shared.policy.survey import SurveyQuestion

SUPERVISORS = ("center_supervisor", "division_supervisor")
GROUPS = ("unit", "division", "category", "channel", "branch")
PERIODS = ("all", "day", "week", "month")
CLOCKS = tuple(c.value for c in SlaClock)
CALL_CHANNELS = ("phone", "cti")
# the publish form's inputs, as the reporting API names them in its field errors (body.<name>)
PUBLISH_FIELDS = ("period", "period_start", "scope", "division_id", "branch")


# --------------------------------------------------------------------------- bulletins


async def bulletins(apis: Apis, token: str, branch: str) -> list[dict[str, Any]]:
    found = await apis.call("reporting", "GET", "/api/v1/bulletins", token, params={"branch": branch})
    items: list[dict[str, Any]] = found["bulletins"]
    return items


def publish_body(form: Mapping[str, str], branch: str) -> dict[str, Any]:
    """POST /api/v1/bulletins from the publish form (the service validates every field)."""
    scope = form.get("scope") or "branch"
    body: dict[str, Any] = {
        "branch": branch,
        "period": form.get("period", ""),
        "period_start": form.get("period_start", ""),
        "scope": scope,
    }
    if scope == "division" or form.get("division_id"):
        body["division_id"] = form.get("division_id") or None
    return body


def field_errors(failure: ApiFailure, inputs: tuple[str, ...] = PUBLISH_FIELDS, other: str = "form") -> dict[str, str]:
    """The service's field errors by the form's input names (body.period_start, query.period_start ->
    period_start); an error of no input, or a refusal naming no field, goes beside `other`."""
    errors: dict[str, str] = {}
    for path, message in failure.fields.items():
        where, dot, rest = path.partition(".")
        name = rest.split(".")[0] if dot and where in ("body", "query") else path
        errors[name if name in inputs else other] = message
    return errors or {other: failure.message}


# --------------------------------------------------------------------------- figures


def percent(rate: float | None) -> str:
    """A rate (0-1) as the figures page shows it: 97.5 %, or – when there was nothing to count."""
    return "–" if rate is None else f"{100 * rate:.1f} %"


@dataclass
class FigureFilter:
    """The figures page's filter, as typed (kept to show the form again), and its query to reporting."""

    group_by: str = "unit"
    period: str = "all"
    since: str = ""
    until: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, params: Mapping[str, str], today: date) -> FigureFilter:
        chosen = cls(
            params.get("group_by", "unit"),
            params.get("period", "all"),
            params.get("since", today.replace(day=1).isoformat()),
            params.get("until", today.isoformat()),
        )
        if chosen.group_by not in GROUPS:
            chosen.errors["group_by"], chosen.group_by = "unknown", "unit"
        if chosen.period not in PERIODS:
            chosen.errors["period"], chosen.period = "unknown", "all"
        for name in ("since", "until"):
            value = getattr(chosen, name)
            try:
                if value:
                    date.fromisoformat(value)
            except ValueError:
                chosen.errors[name] = "date"
        if not chosen.errors and chosen.since and chosen.until and chosen.until < chosen.since:
            chosen.errors["until"] = "before"
        return chosen

    def params(self, branch: str) -> dict[str, Any]:
        return {
            "branch": branch,
            "group_by": self.group_by,
            "period": self.period,
            "since": self.since or None,
            "until": self.until or None,
        }


async def figures(apis: Apis, token: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    found = await apis.call("reporting", "GET", "/api/v1/figures", token, params=params)
    rows: list[dict[str, Any]] = found["rows"]
    return rows


# --------------------------------------------------------------------------- wallboard


def on_time_gauges(row: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One gauge per clock: today's met / (met + breached), running clocks beside it."""
    on_time = (row or {}).get("on_time", {})
    gauges = []
    for clock in CLOCKS:
        part = on_time.get(clock, {})
        rate = part.get("rate")
        gauges.append(
            {
                "clock": clock,
                "rate": None if rate is None else round(100 * rate, 1),
                "met": part.get("met", 0),
                "breached": part.get("breached", 0),
                "running": part.get("running", 0),
            }
        )
    return gauges


def units_at_risk(units: list[dict[str, Any]], due: list[dict[str, Any]], limit: int = 8) -> list[dict[str, Any]]:
    """Units with breaches today or clocks due within the hour, the most breaches (then due) first."""
    due_by_unit: dict[str, int] = {}
    for timer in due:
        key = timer.get("unit_id") or "(center queue)"
        due_by_unit[key] = due_by_unit.get(key, 0) + 1
    rows = {u["key"]: {"unit": u["key"], "breaches": u.get("breaches", 0), "due": 0} for u in units}
    for unit, count in due_by_unit.items():
        rows.setdefault(unit, {"unit": unit, "breaches": 0, "due": 0})["due"] = count
    risky = [r for r in rows.values() if r["breaches"] or r["due"]]
    return sorted(risky, key=lambda r: (-r["breaches"], -r["due"], r["unit"]))[:limit]


async def wallboard(apis: Apis, token: str, branch: str, today: date, now: datetime) -> dict[str, Any]:
    """Calls and tickets today, open tickets, due within the hour, breaches and escalations, gauges, units."""
    day = {"branch": branch, "since": today.isoformat(), "until": today.isoformat()}
    total = await figures(apis, token, {**day, "group_by": "branch"})
    by_channel = await figures(apis, token, {**day, "group_by": "channel"})
    by_unit = await figures(apis, token, {**day, "group_by": "unit"})
    ever = await figures(apis, token, {"branch": branch, "group_by": "branch"})
    try:
        due = (await apis.call("sla", "GET", "/api/v1/sla/due", token, params={"within_minutes": 60}))["timers"]
    except ApiFailure:
        due = None  # the SLA monitor is not answering: the board says so rather than show 0
    calls = await call_counts(apis, token, datetime.combine(today, time(0), tzinfo=now.tzinfo))
    row = total[0] if total else None
    offset = now.utcoffset()
    return {
        "at": now.isoformat(),
        # the board shows times on the branch's wall clock with its offset, whatever the browser's zone
        "zone_offset_minutes": int(offset.total_seconds() // 60) if offset is not None else 0,
        "received_today": (row or {}).get("received", 0),
        # calls from intake's call records (a call need not become a ticket); tickets by phone if it is not answering
        "calls_now": None if calls is None else calls["ringing"] + calls["in_progress"],
        "calls_today": (
            sum(r.get("received", 0) for r in by_channel if r.get("key") in CALL_CHANNELS)
            if calls is None
            else calls["answered"] + calls["abandoned"] + calls["ringing"]
        ),
        "open": ever[0].get("open", 0) if ever else 0,
        "due_within_hour": None if due is None else len(due),
        "breaches_today": (row or {}).get("breaches", 0),
        "escalations_today": (row or {}).get("escalations_division", 0) + (row or {}).get("escalations_center", 0),
        "gauges": on_time_gauges(row),
        "units_at_risk": units_at_risk(by_unit, due or []),
    }


async def call_counts(apis: Apis, token: str, since: datetime) -> dict[str, Any] | None:
    """Intake's calls offered since the start of the branch's day: ringing, being talked, answered, abandoned."""
    try:
        found: dict[str, Any] = await apis.call(
            "intake", "GET", "/api/v1/calls/stats", token, params={"since": since.isoformat()}
        )
    except ApiFailure:
        return None  # intake is not answering: the board shows "–" for calls now
    return found


def wallboard_push(event_type: str, ticket_id: str | None, payload: Any) -> dict[str, Any]:
    """What a wallboard hears at once (before reporting's figures catch up): the breach or escalation itself."""
    clock = getattr(payload, "clock", None)
    return {
        "ticket_id": ticket_id,
        "clock": None if clock is None else str(clock),
        "unit_id": getattr(payload, "unit_id", None),
        "to_level": getattr(payload, "to_level", None),
        "late_minutes": round(float(getattr(payload, "late_by_seconds", 0) or 0) / 60),
        "breach": event_type == "SlaBreached",
        "escalation": event_type == "SlaEscalated",
    }


# --------------------------------------------------------------------------- the callback desk's survey


def survey_questions(policies: BranchPolicies, branch: str, category: str | None) -> tuple[SurveyQuestion, ...]:
    """The branch's extra survey questions for the ticket's category (shared/policy/survey.py)."""
    try:
        return policies.branch(branch).survey.for_category(Category(category or ""))
    except (BranchConfigError, ValueError):
        return ()


def survey_answers(form: Mapping[str, str]) -> dict[str, int]:
    """The desk's answer_<id> inputs that were answered; a value typed wrong goes on for callback to refuse."""
    answers: dict[str, int] = {}
    for name, value in form.items():
        if name.startswith("answer_") and value.strip():
            try:
                answers[name.removeprefix("answer_")] = int(value)
            except ValueError:
                answers[name.removeprefix("answer_")] = -1  # out of every range: refused with its field
    return answers


# --------------------------------------------------------------------------- assessment (考核)

ASSESSMENT_LEVELS = ("unit", "division")
ASSESSMENT_PERIODS = ("month", "week")
ASSESSMENT_FIELDS = ("level", "period", "period_start")
# how each component's figure reads (shared/policy/assessment.py scores it): a rate, an average of 1-5, a count
FIGURE_KINDS = {"on_time": "rate", "satisfaction": "average", "complaints": "per_100", "returns": "rate"}


@dataclass
class AssessmentFilter:
    """The assessment page's choice: units or divisions, a finished month or week (its first day)."""

    level: str = "unit"
    period: str = "month"
    period_start: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, params: Mapping[str, str], today: date) -> AssessmentFilter:
        last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        chosen = cls(params.get("level", "unit"), params.get("period", "month"), params.get("period_start", ""))
        if chosen.level not in ASSESSMENT_LEVELS:
            chosen.errors["level"], chosen.level = "unknown", "unit"
        if chosen.period not in ASSESSMENT_PERIODS:
            chosen.errors["period"], chosen.period = "unknown", "month"
        if not chosen.period_start:
            start = last_month if chosen.period == "month" else today - timedelta(days=today.weekday() + 7)
            chosen.period_start = start.isoformat()
        try:
            date.fromisoformat(chosen.period_start)
        except ValueError:
            chosen.errors["period_start"] = "date"
        return chosen

    def params(self, branch: str) -> dict[str, Any]:
        return {"branch": branch, "level": self.level, "period": self.period, "period_start": self.period_start}


def assessment_errors(failure: ApiFailure) -> dict[str, str]:
    """Reporting's refusal beside the input it names, else beside the period's first day."""
    return field_errors(failure, ASSESSMENT_FIELDS, other="period_start")


async def assessment_rows(apis: Apis, token: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    found = await apis.call("reporting", "GET", "/api/v1/assessments", token, params=params)
    rows: list[dict[str, Any]] = found["rows"]
    return rows


def component_figure(name: str, figure: float | None) -> str:
    """A component's figure as a supervisor reads it: 96.0 %, 4.6 / 5, 1.2 per 100 tickets."""
    if figure is None:
        return "–"
    kind = FIGURE_KINDS.get(name, "rate")
    if kind == "average":
        return f"{figure:.2f} / 5"
    if kind == "per_100":
        return f"{figure:.1f} / 100"
    return percent(figure)
