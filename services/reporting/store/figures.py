"""The supervision figures of RULES.md §7 as SQL aggregates over the read model (docs/reporting.md says each one).

A ticket counts in the period it was received in, and everything that happened to it counts there too
(a cohort): a month's figures do not change once its tickets are finished. Three GROUP BY queries (tickets,
clocks, facts) give the counts per period and group; rates are divided from them by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.store.tickets import ReportClock, ReportFact, ReportTicket, ReportUnit

Dimension = Literal["branch", "division", "unit", "category", "channel"]
Period = Literal["day", "week", "month", "all"]
UNASSIGNED = "(center queue)"  # a clock or fact no unit had yet: the simulator's report's name for it

# fact kinds counted as they are (column = kind)
PLAIN_FACTS = (
    "dispatched",
    "warning",
    "return",
    "return_refused",
    "extension_requested",
    "extension_granted",
    "extension_denied",
    "reopened",
    "callback_completed",
    "callback_abandoned",
    "survey",
    "solved",
    "rating",  # a customer's rating on the self-service page (ServiceRated), beside the callback's survey
)
# fact kinds counted by prefix (one per clock or outcome)
PREFIXED_FACTS = {
    "breach": "breach:",
    "escalation_division": "escalation_division:",
    "escalation_center": "escalation_center:",
    "callback_attempt": "attempt:",
}
SATISFIED = 4  # a rating of 4 or 5 is a satisfied customer


@dataclass(frozen=True)
class FigureQuery:
    """What to count: a branch, a group, a period bucket and range of receipt days, and filters (the scope)."""

    branch: str
    group_by: Dimension = "unit"
    period: Period = "all"
    since: date | None = None
    until: date | None = None  # inclusive
    division: str | None = None
    unit: str | None = None
    category: str | None = None
    channel: str | None = None


@dataclass
class Counts:
    """The counts of one period and group; the figures are computed from them."""

    period: date | None
    key: str
    tickets: dict[str, int]
    facts: dict[str, int]
    clocks: dict[str, dict[str, int]]  # clock -> outcome -> count
    satisfaction_sum: int = 0
    rating_sum: int = 0  # the self-service ratings' sum (ServiceRated), apart from the survey's
    answers: dict[str, tuple[int, int]] = field(default_factory=dict)  # survey question -> (answers, sum)


def _bucket(q: FigureQuery) -> ColumnElement[Any]:
    t = ReportTicket
    column = {"day": t.received_day, "week": t.received_week, "month": t.received_month}.get(q.period)
    return (column if column is not None else literal(None)).label("bucket")


def _cohort(q: FigureQuery) -> list[ColumnElement[bool]]:
    t = ReportTicket
    where: list[ColumnElement[bool]] = [t.branch == q.branch, t.received_day.is_not(None)]
    if q.since is not None:
        where.append(t.received_day >= q.since)
    if q.until is not None:
        where.append(t.received_day <= q.until)
    if q.category is not None:
        where.append(t.category == q.category)
    if q.channel is not None:
        where.append(t.channel == q.channel)
    return where


def _key(q: FigureQuery, unit: Any, division: Any) -> ColumnElement[Any]:
    t = ReportTicket
    columns: dict[str, Any] = {
        "branch": literal("all"),
        "division": func.coalesce(division, UNASSIGNED),
        "unit": func.coalesce(unit, UNASSIGNED),
        "category": t.category,
        "channel": t.channel,
    }
    chosen: ColumnElement[Any] = columns[q.group_by]
    return chosen.label("key")


def _org_filter(q: FigureQuery, unit: Any, division: Any) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if q.division is not None:
        where.append(division == q.division)
    if q.unit is not None:
        where.append(unit == q.unit)
    return where


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def tickets_query(q: FigureQuery, now: datetime) -> Select[Any]:
    t = ReportTicket
    is_12345 = t.channel == "12345"
    on_time_12345 = and_(is_12345, t.replied_at.is_not(None), t.replied_at <= t.external_deadline)
    late_12345 = and_(
        is_12345, t.external_deadline < now, or_(t.replied_at.is_(None), t.replied_at > t.external_deadline)
    )
    columns = {
        "received": func.count(),
        "first_contact": _count_if(t.resolved_on_first_contact.is_(True)),
        "replied": _count_if(t.replied_at.is_not(None)),
        "reopened_tickets": _count_if(t.reopen_count > 0),
        "closed": _count_if(or_(t.closed_at.is_not(None), t.resolved_on_first_contact.is_(True))),
        "complaints": _count_if(t.category == "complaint"),
        "complaints_level_1": _count_if(t.complaint_level == 1),
        "complaints_level_2": _count_if(t.complaint_level == 2),
        "complaints_level_3": _count_if(t.complaint_level == 3),
        "repeat_complaints": _count_if(and_(t.category == "complaint", t.repeat.is_(True))),
        "collective_complaints": _count_if(and_(t.category == "complaint", t.collective.is_(True))),
        "tasks_12345": _count_if(is_12345),
        "tasks_12345_on_time": _count_if(on_time_12345),
        "tasks_12345_late": _count_if(late_12345),
    }
    bucket, key = _bucket(q), _key(q, t.unit_id, t.division_id)
    return (
        select(bucket, key, *(c.label(name) for name, c in columns.items()))
        .where(*_cohort(q), *_org_filter(q, t.unit_id, t.division_id))
        .group_by(bucket, key)
    )


def facts_query(q: FigureQuery) -> Select[Any]:
    f, t, u = ReportFact, ReportTicket, ReportUnit
    columns: dict[str, ColumnElement[Any]] = {kind: _count_if(f.kind == kind) for kind in PLAIN_FACTS}
    columns |= {name: _count_if(f.kind.like(f"{prefix}%")) for name, prefix in PREFIXED_FACTS.items()}
    columns["satisfied"] = _count_if(and_(f.kind == "survey", f.value >= SATISFIED))
    columns["satisfaction_sum"] = func.coalesce(func.sum(case((f.kind == "survey", f.value), else_=0)), 0)
    columns["rated_satisfied"] = _count_if(and_(f.kind == "rating", f.value >= SATISFIED))
    columns["rating_sum"] = func.coalesce(func.sum(case((f.kind == "rating", f.value), else_=0)), 0)
    bucket, key = _bucket(q), _key(q, f.unit_id, u.division_id)
    return (
        select(bucket, key, *(c.label(name) for name, c in columns.items()))
        .join(t, t.ticket_id == f.ticket_id)
        .outerjoin(u, and_(u.branch == f.branch, u.unit_id == f.unit_id))
        .where(*_cohort(q), *_org_filter(q, f.unit_id, u.division_id))
        .group_by(bucket, key)
    )


def clocks_query(q: FigureQuery) -> Select[Any]:
    c, t, u = ReportClock, ReportTicket, ReportUnit
    bucket, key = _bucket(q), _key(q, c.unit_id, u.division_id)
    return (
        select(bucket, key, c.clock, c.outcome, func.count().label("n"))
        .join(t, t.ticket_id == c.ticket_id)
        .outerjoin(u, and_(u.branch == c.branch, u.unit_id == c.unit_id))
        .where(*_cohort(q), *_org_filter(q, c.unit_id, u.division_id), c.outcome != "void")
        .group_by(bucket, key, c.clock, c.outcome)
    )


ANSWER = "answer:"  # a survey question's answer fact: kind answer:<question id>, value the answer


def answers_query(q: FigureQuery) -> Select[Any]:
    """Per period, group and survey question: how many answered it and the sum of their answers."""
    f, t, u = ReportFact, ReportTicket, ReportUnit
    bucket, key = _bucket(q), _key(q, f.unit_id, u.division_id)
    return (
        select(bucket, key, f.kind, func.count().label("n"), func.coalesce(func.sum(f.value), 0).label("total"))
        .join(t, t.ticket_id == f.ticket_id)
        .outerjoin(u, and_(u.branch == f.branch, u.unit_id == f.unit_id))
        .where(*_cohort(q), *_org_filter(q, f.unit_id, u.division_id), f.kind.like(f"{ANSWER}%"))
        .group_by(bucket, key, f.kind)
    )


async def counts(session: AsyncSession, q: FigureQuery, now: datetime) -> list[Counts]:
    """Every (period, group) with anything to count, in period then key order."""
    rows: dict[tuple[date | None, str], Counts] = {}

    def entry(bucket: date | None, key: str) -> Counts:
        return rows.setdefault((bucket, key), Counts(bucket, key, {}, {}, {}))

    for row in (await session.execute(tickets_query(q, now))).mappings():
        entry(row["bucket"], row["key"]).tickets = {k: int(v) for k, v in row.items() if k not in ("bucket", "key")}
    for row in (await session.execute(facts_query(q))).mappings():
        found = entry(row["bucket"], row["key"])
        sums = ("satisfaction_sum", "rating_sum")
        found.facts = {k: int(v) for k, v in row.items() if k not in ("bucket", "key", *sums)}
        found.satisfaction_sum, found.rating_sum = int(row["satisfaction_sum"]), int(row["rating_sum"])
    for row in (await session.execute(clocks_query(q))).mappings():
        entry(row["bucket"], row["key"]).clocks.setdefault(row["clock"], {})[row["outcome"]] = int(row["n"])
    for row in (await session.execute(answers_query(q))).mappings():
        question = str(row["kind"]).removeprefix(ANSWER)
        entry(row["bucket"], row["key"]).answers[question] = (int(row["n"]), int(row["total"]))
    return [rows[k] for k in sorted(rows, key=lambda k: (k[0] or date.min, k[1]))]
