"""Bulletins (通报, RULES.md §7, §9(四)): weekly and monthly, per branch and division, idempotent per period."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting import documents
from services.reporting.handlers.figures import figures_of, overall_on_time
from services.reporting.store import bulletins as store
from services.reporting.store.bulletins import Bulletin
from services.reporting.store.figures import FigureQuery, counts
from shared.auth import Principal, Role
from shared.branch_config import BranchPolicies
from shared.clock import Clock
from shared.errors import Invalid, NotFound, OutOfScope
from shared.events import BulletinPublished, Event, new_event
from shared.policy.branch import BranchConfigError
from shared.policy.periods import PeriodError, PeriodKind, is_over, period_end
from shared.policy.survey import SurveyQuestions

PRODUCER = "reporting"
SCHEDULE = "schedule"  # the publisher of the bulletins the worker publishes by itself


@dataclass(frozen=True)
class BulletinRequest:
    branch: str
    period: PeriodKind
    period_start: date
    scope: Literal["branch", "division"] = "branch"
    division_id: str | None = None


def bulletin_id(request: BulletinRequest) -> str:
    """One id per branch or division, period kind and start: publishing twice finds the first one."""
    owner = request.division_id if request.scope == "division" else "all"
    return f"B-{request.branch}-{owner}-{request.period}-{request.period_start.isoformat()}"


def _title(request: BulletinRequest, end: date) -> str:
    who = f"{request.division_id} " if request.division_id else ""
    if request.period == "month":
        return f"{who}{request.period_start.year}年{request.period_start.month}月 客服热线服务通报"
    week = request.period_start.isocalendar().week
    return f"{who}{request.period_start.year}年第{week}周（{request.period_start:%m-%d}至{end:%m-%d}）客服热线服务通报"


def ranked(units: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Units by on-time rate (none last), then fewer breaches, then higher satisfaction; ranks from 1."""
    for row in units:
        row["on_time_rate"] = overall_on_time(row)
    order = sorted(
        units,
        key=lambda r: (
            -(r["on_time_rate"] if r["on_time_rate"] is not None else -1),
            r["breaches"],
            -(r["satisfaction_average"] or 0),
            r["key"],
        ),
    )
    return [{**row, "rank": i} for i, row in enumerate(order, start=1)]


def survey_of(branches: BranchPolicies, branch: str) -> SurveyQuestions:
    """The branch file's survey questions; none for a branch with no (or a bad) file."""
    try:
        return branches.branch(branch).survey
    except BranchConfigError:
        return SurveyQuestions()


def survey_rows(answered: dict[str, dict[str, Any]], survey: SurveyQuestions) -> list[dict[str, Any]]:
    """The branch's survey questions with their answers (issue 18), in the branch file's order; then any
    question answered under an earlier configuration, by its id."""
    known = survey.by_id()
    ids = [q.id for q in survey.questions] + sorted(set(answered) - set(known))
    rows = []
    for qid in ids:
        question, found = known.get(qid), answered.get(qid, {})
        rows.append(
            {
                "question": qid,
                "text": question.text if question is not None else qid,
                "kind": question.kind if question is not None else "rating",
                "answers": found.get("answers", 0),
                "average": found.get("average"),
            }
        )
    return rows


async def _content(
    session: AsyncSession,
    request: BulletinRequest,
    end: date,
    published_by: str,
    clock: Clock,
    survey: SurveyQuestions,
) -> dict[str, Any]:
    division = request.division_id
    now = clock.now()
    whole = FigureQuery(
        request.branch, "division" if division else "branch", "all", request.period_start, end, division
    )
    summary_counts = await counts(session, whole, now)
    summary = figures_of(summary_counts[0]) if summary_counts else figures_of_empty()
    summary["on_time_rate"] = overall_on_time(summary)
    by_unit = FigureQuery(request.branch, "unit", "all", request.period_start, end, division)
    units = ranked([figures_of(c) for c in await counts(session, by_unit, now)])
    return {
        "title": _title(request, end),
        "branch": request.branch,
        "scope": request.scope,
        "division": division,
        "period": request.period,
        "period_start": request.period_start.isoformat(),
        "period_end": end.isoformat(),
        "published_by": published_by,
        "summary": summary,
        "units": units,
        "worst_breaches": await store.worst_breaches(session, request.branch, request.period_start, end, division),
        "worst_complaints": await store.worst_complaints(session, request.branch, request.period_start, end, division),
        "survey": survey_rows(summary.get("survey_questions", {}), survey),
    }


def figures_of_empty() -> dict[str, Any]:
    from services.reporting.store.figures import Counts

    return figures_of(Counts(None, "all", {}, {}, {}))


def _may_publish(principal: Principal | None, request: BulletinRequest) -> None:
    if principal is None:
        return  # the schedule
    if request.branch != principal.branch:
        raise OutOfScope(f"branch {request.branch!r} is outside your scope")
    if principal.role is not Role.CENTER_SUPERVISOR:
        raise OutOfScope("only the customer-service center publishes bulletins")


async def publish(
    session: AsyncSession,
    principal: Principal | None,
    request: BulletinRequest,
    clock: Clock,
    zone: tzinfo,
    survey: SurveyQuestions | None = None,
) -> tuple[Bulletin, list[Event[Any]]]:
    """The period's bulletin: the one already published, or a new one with its PDF, Excel and event."""
    _may_publish(principal, request)
    if (request.scope == "division") != (request.division_id is not None):
        raise Invalid.on("body.division_id", "division_id is required for, and only for, a division's bulletin")
    try:
        end = period_end(request.period, request.period_start)
    except PeriodError as error:
        raise Invalid.on("body.period_start", str(error)) from None
    found = await store.published(session, bulletin_id(request))
    if found is not None:
        return found, []
    if not is_over(request.period, request.period_start, clock.now().astimezone(zone).date()):
        raise Invalid.on("body.period_start", f"the {request.period} is not over yet: its figures are not final")
    who = principal.subject if principal is not None else SCHEDULE
    content = await _content(session, request, end, who, clock, survey or SurveyQuestions())
    chart = await asyncio.to_thread(documents.chart_png, content["units"])
    pdf = await asyncio.to_thread(documents.bulletin_pdf, content, chart)
    xlsx = await asyncio.to_thread(documents.bulletin_xlsx, content)
    bulletin = Bulletin(
        bulletin_id=bulletin_id(request),
        branch=request.branch,
        scope=request.scope,
        division_id=request.division_id,
        period=request.period,
        period_start=request.period_start,
        period_end=end,
        title=content["title"],
        published_by=who,
        published_at=clock.now(),
        tickets=content["summary"]["received"],
        content=content,
        pdf=pdf,
        xlsx=xlsx,
    )
    session.add(bulletin)
    event = new_event(
        BulletinPublished(
            bulletin_id=bulletin.bulletin_id,
            period=request.period,
            period_start=request.period_start,
            period_end=end,
            scope=request.scope,
            division_id=request.division_id,
            title=bulletin.title,
            published_by=who,
            tickets=bulletin.tickets,
        ),
        branch=request.branch,
        producer=PRODUCER,
        correlation_id=bulletin.bulletin_id,
        occurred_at=clock.now(),
        report_id=bulletin.bulletin_id,
    )
    return bulletin, [event]


async def bulletin_history(session: AsyncSession, principal: Principal, branch: str) -> list[Bulletin]:
    """The center and auditors see every bulletin of the branch; a division its own and the branch's."""
    if branch != principal.branch:
        raise OutOfScope(f"branch {branch!r} is outside your scope")
    division = principal.division if principal.role is Role.DIVISION_SUPERVISOR else None
    return list(await store.history(session, branch, division, with_branch=True))


async def bulletin_file(session: AsyncSession, principal: Principal, bulletin_id: str) -> Bulletin:
    found = await store.published(session, bulletin_id)
    own_division = (
        principal.role is not Role.DIVISION_SUPERVISOR
        or found is None
        or (found.scope == "branch" or found.division_id == principal.division)
    )
    if found is None or found.branch != principal.branch or not own_division:
        raise NotFound(f"bulletin {bulletin_id} not found")
    return found
