"""Assessment (考核) per unit or division and period, from the branch's weights (shared/policy/assessment.py)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.handlers.figures import figures_of, overall_on_time, scoped
from services.reporting.store.figures import FigureQuery, counts
from shared.auth import Principal
from shared.clock import Clock
from shared.errors import Invalid
from shared.policy.assessment import AssessmentWeights, Measures, assess
from shared.policy.periods import PeriodError, PeriodKind, period_end


async def assessments(
    session: AsyncSession,
    principal: Principal,
    branch: str,
    level: Literal["unit", "division"],
    period: PeriodKind,
    start: date,
    weights: AssessmentWeights,
    clock: Clock,
) -> list[dict[str, Any]]:
    """Each unit's (or division's) score for the period, best first, with every component's figure and points."""
    try:
        end = period_end(period, start)
    except PeriodError as error:
        raise Invalid.on("body.period_start", str(error)) from None
    query = scoped(principal, FigureQuery(branch, level, "all", start, end))
    rows = []
    for c in await counts(session, query, clock.now()):
        row = figures_of(c)
        measures = Measures(
            on_time_rate=overall_on_time(row),
            satisfaction_average=row["satisfaction_average"],
            complaints=row["complaints"],
            received=row["received"],
            returns=row["returns"],
            dispatched=row["dispatched"],
            reopen_rate=row["reopen_rate"],
        )
        result = assess(weights, measures)
        rows.append(
            {
                "key": row["key"],
                "total": result.total,
                "components": [
                    {"component": x.name, "figure": x.figure, "score": x.score, "weight": x.weight, "points": x.points}
                    for x in result.components
                ],
            }
        )
    return sorted(rows, key=lambda r: (-(r["total"] if r["total"] is not None else -1), r["key"]))
