"""The figures of RULES.md §7 as JSON or CSV, by branch / division / unit / category / channel and period."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import Query, Request
from fastapi.responses import Response

from services.reporting import handlers
from services.reporting.api.common import Supervisor
from services.reporting.schemas import FiguresPublic
from services.reporting.store.figures import Dimension, FigureQuery, Period
from shared.auth import SecureRouter
from shared.errors import Invalid
from shared.http.deps import Session

Code = Annotated[str | None, Query(min_length=1, max_length=128, pattern=r"^\S+$")]


def router() -> SecureRouter:
    r = SecureRouter(prefix="/api/v1", tags=["figures"])

    @r.get("/figures", response_model=FiguresPublic, responses={200: {"content": {"text/csv": {}}}})
    async def figures(
        request: Request,
        session: Session,
        principal: Supervisor,
        branch: Annotated[str, Query(min_length=1, max_length=64, pattern=r"^\S+$")],
        group_by: Dimension = "unit",
        period: Period = "all",
        since: date | None = None,
        until: date | None = None,
        division: Code = None,
        unit: Code = None,
        category: Code = None,
        channel: Code = None,
        format: Literal["json", "csv"] = "json",
    ) -> FiguresPublic | Response:
        """Counts and rates per period (day, week, month or the whole range) and group; docs/reporting.md."""
        if since is not None and until is not None and until < since:
            raise Invalid("until is before since", fields=[{"field": "query.until", "message": "before since"}])
        query = FigureQuery(branch, group_by, period, since, until, division, unit, category, channel)
        rows = await handlers.figures(session, principal, query, request.app.state.clock)
        if format == "csv":
            return Response(handlers.as_csv(rows), media_type="text/csv; charset=utf-8")
        return FiguresPublic(branch=branch, group_by=group_by, period=period, since=since, until=until, rows=rows)

    return r
