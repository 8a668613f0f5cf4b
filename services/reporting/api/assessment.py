"""Assessment scores per unit or division and period, every component shown (RULES.md §7)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Query, Request

from services.reporting.api.common import Supervisor
from services.reporting.handlers.assessment import assessments
from shared.auth import SecureRouter
from shared.http.deps import Session
from shared.policy.assessment import AssessmentWeights
from shared.policy.branch import BranchConfigError


def router() -> SecureRouter:
    r = SecureRouter(prefix="/api/v1", tags=["assessment"])

    @r.get("/assessments")
    async def list_assessments(
        request: Request,
        session: Session,
        principal: Supervisor,
        branch: Annotated[str, Query(min_length=1, max_length=64, pattern=r"^\S+$")],
        period: Literal["week", "month"],
        period_start: date,
        level: Literal["unit", "division"] = "unit",
    ) -> dict[str, Any]:
        """Scores out of 100, best first, from the branch file's `[assessment]` weights."""
        state = request.app.state
        try:
            weights = state.branches.branch(branch).assessment
        except BranchConfigError:
            weights = AssessmentWeights()
        rows = await assessments(session, principal, branch, level, period, period_start, weights, state.clock)
        return {"branch": branch, "level": level, "period": period, "period_start": period_start, "rows": rows}

    return r
