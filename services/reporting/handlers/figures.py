"""The figures of RULES.md §7 per period and group, scoped to the caller (a division sees its own units)."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.store.figures import Counts, FigureQuery, counts
from shared.auth import Principal, Role
from shared.clock import Clock
from shared.errors import OutOfScope
from shared.policy.limits import SlaClock

CLOCKS = tuple(c.value for c in SlaClock)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def scoped(principal: Principal, query: FigureQuery) -> FigureQuery:
    """The caller's scope narrows the query: its branch; a division supervisor only its own units."""
    if query.branch != principal.branch:
        raise OutOfScope(f"branch {query.branch!r} is outside your scope")
    if principal.role is Role.DIVISION_SUPERVISOR:
        if query.division is not None and query.division != principal.division:
            raise OutOfScope(f"division {query.division!r} is outside your scope")
        return FigureQuery(**{**query.__dict__, "division": principal.division})
    return query


def overall_on_time(row: dict[str, Any]) -> float | None:
    """Every clock's met over met + breached: the one on-time rate a ranking and the assessment use."""
    met = sum(row["on_time"].get(c, {}).get("met", 0) for c in CLOCKS)
    late = sum(row["on_time"].get(c, {}).get("breached", 0) for c in CLOCKS)
    return round(met / (met + late), 4) if met + late else None


def figures_of(c: Counts) -> dict[str, Any]:
    """One row of figures from its counts (docs/reporting.md defines each)."""
    t, f = c.tickets, c.facts
    received, surveys, ratings = t.get("received", 0), f.get("survey", 0), f.get("rating", 0)
    on_time: dict[str, dict[str, Any]] = {}
    for clock in CLOCKS:
        outcomes = c.clocks.get(clock)
        if outcomes is None:
            continue
        met, late, running = outcomes.get("met", 0), outcomes.get("breached", 0), outcomes.get("running", 0)
        on_time[clock] = {"met": met, "breached": late, "running": running, "rate": _rate(met, met + late)}
    tasks_on_time, tasks_late = t.get("tasks_12345_on_time", 0), t.get("tasks_12345_late", 0)
    return {
        "period": c.period.isoformat() if c.period is not None else None,
        "key": c.key,
        "received": received,
        "closed": t.get("closed", 0),
        "open": received - t.get("closed", 0),  # not closed yet (nor closed on the call)
        "first_contact_resolved": t.get("first_contact", 0),
        "first_contact_rate": _rate(t.get("first_contact", 0), received),
        "on_time": on_time,
        "dispatched": f.get("dispatched", 0),
        "warnings": f.get("warning", 0),
        "breaches": f.get("breach", 0),
        "escalations_division": f.get("escalation_division", 0),
        "escalations_center": f.get("escalation_center", 0),
        "returns": f.get("return", 0),
        "returns_refused": f.get("return_refused", 0),
        "extensions_requested": f.get("extension_requested", 0),
        "extensions_granted": f.get("extension_granted", 0),
        "extensions_denied": f.get("extension_denied", 0),
        "complaints": t.get("complaints", 0),
        "complaints_by_level": {str(level): t.get(f"complaints_level_{level}", 0) for level in (1, 2, 3)},
        "repeat_complaints": t.get("repeat_complaints", 0),
        "collective_complaints": t.get("collective_complaints", 0),
        "reopened": f.get("reopened", 0),
        "reopen_rate": _rate(t.get("reopened_tickets", 0), t.get("replied", 0)),
        "callback_attempts": f.get("callback_attempt", 0),
        "callbacks_completed": f.get("callback_completed", 0),
        "callbacks_abandoned": f.get("callback_abandoned", 0),
        "surveys": surveys,
        "satisfaction_average": round(c.satisfaction_sum / surveys, 2) if surveys else None,
        "satisfied_rate": _rate(f.get("satisfied", 0), surveys),
        "solved_rate": _rate(f.get("solved", 0), surveys),
        # the customers' own ratings on the self-service page (ServiceRated), apart from the callback's survey
        "customer_ratings": ratings,
        "customer_rating_average": round(c.rating_sum / ratings, 2) if ratings else None,
        "customer_satisfied_rate": _rate(f.get("rated_satisfied", 0), ratings),
        # both together: every rating a customer gave, on the callback or on the page
        "all_ratings": surveys + ratings,
        "all_rating_average": round((c.satisfaction_sum + c.rating_sum) / (surveys + ratings), 2)
        if surveys + ratings
        else None,
        "tasks_12345": t.get("tasks_12345", 0),
        "tasks_12345_on_time": tasks_on_time,
        "tasks_12345_on_time_rate": _rate(tasks_on_time, tasks_on_time + tasks_late),
        # the branch's survey questions (shared/policy/survey.py): a rating's average, a yes/no's share of yes
        "survey_questions": {
            question: {"answers": n, "average": round(total / n, 4) if n else None}
            for question, (n, total) in sorted(c.answers.items())
        },
    }


async def figures(
    session: AsyncSession, principal: Principal, query: FigureQuery, clock: Clock
) -> list[dict[str, Any]]:
    return [figures_of(c) for c in await counts(session, scoped(principal, query), clock.now())]


def flat(row: dict[str, Any]) -> dict[str, Any]:
    """A figures row with its nested parts spread into columns (CSV, Excel)."""
    out = {k: v for k, v in row.items() if k not in ("on_time", "complaints_by_level", "survey_questions")}
    for level, n in row["complaints_by_level"].items():
        out[f"complaints_level_{level}"] = n
    for clock in CLOCKS:
        part = row["on_time"].get(clock, {})
        for name in ("met", "breached", "running", "rate"):
            out[f"on_time_{clock}_{name}"] = part.get(name)
    for question, answered in row.get("survey_questions", {}).items():
        out[f"survey_{question}_answers"], out[f"survey_{question}_average"] = answered["answers"], answered["average"]
    return out


def as_csv(rows: list[dict[str, Any]]) -> str:
    flat_rows = [flat(r) for r in rows]
    header = list(flat(figures_of(Counts(None, "", {}, {}, {}))).keys())
    header += sorted({k for row in flat_rows for k in row} - set(header))  # the survey questions answered
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header)
    writer.writeheader()
    for row in flat_rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buffer.getvalue()
