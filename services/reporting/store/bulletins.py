"""Published bulletins (通报) with their files, and the lists a bulletin shows (worst breaches, complaints)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Index, Integer, LargeBinary, String, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from services.reporting.store.base import Base
from services.reporting.store.tickets import ReportFact, ReportTicket, ReportUnit
from shared.db import AwareDateTime


class Bulletin(Base):
    """One published bulletin: one per branch or division, period kind and start (publishing is idempotent)."""

    __tablename__ = "bulletins"
    __table_args__ = (Index("ix_bulletins_branch", "branch", "period_start"),)

    bulletin_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    branch: Mapped[str] = mapped_column(String(128))
    scope: Mapped[str] = mapped_column(String(16))  # branch, division
    division_id: Mapped[str | None] = mapped_column(String(128))
    period: Mapped[str] = mapped_column(String(8))  # week, month
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200))
    published_by: Mapped[str] = mapped_column(String(128))
    published_at: Mapped[datetime] = mapped_column(AwareDateTime())
    tickets: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)  # the figures and lists it shows
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    xlsx: Mapped[bytes] = mapped_column(LargeBinary)


def _cohort(branch: str, start: date, end: date, division: str | None) -> list[Any]:
    t = ReportTicket
    where = [t.branch == branch, t.received_day >= start, t.received_day <= end]
    if division is not None:
        where.append(t.division_id == division)
    return where


async def worst_breaches(
    session: AsyncSession, branch: str, start: date, end: date, division: str | None, limit: int = 10
) -> list[dict[str, Any]]:
    """The breaches of the period's tickets, latest by the most first."""
    f, t, u = ReportFact, ReportTicket, ReportUnit
    query = (
        select(t.ticket_id, t.ticket_number, t.category, f.kind, f.unit_id, u.division_id, f.value)
        .join(t, t.ticket_id == f.ticket_id)
        .outerjoin(u, and_(u.branch == f.branch, u.unit_id == f.unit_id))
        .where(f.branch == branch, f.kind.like("breach:%"), t.received_day >= start, t.received_day <= end)
        .order_by(f.value.desc(), t.ticket_id)
        .limit(limit)
    )
    if division is not None:
        query = query.where(u.division_id == division)
    return [
        {
            "ticket": r.ticket_number or r.ticket_id,
            "category": r.category,
            "clock": r.kind.removeprefix("breach:"),
            "unit": r.unit_id,
            "division": r.division_id,
            "late_minutes": round((r.value or 0) / 60),
        }
        for r in (await session.execute(query)).all()
    ]


async def worst_complaints(
    session: AsyncSession, branch: str, start: date, end: date, division: str | None, limit: int = 10
) -> list[dict[str, Any]]:
    """The period's complaints, the most severe first (level, then repeat, collective, reopened)."""
    t = ReportTicket
    query = (
        select(t)
        .where(*_cohort(branch, start, end, division), t.category == "complaint")
        .where(or_(t.complaint_level.is_not(None), t.repeat.is_(True)))
        .order_by(t.complaint_level, t.repeat.desc(), t.collective.desc(), t.reopen_count.desc(), t.ticket_id)
        .limit(limit)
    )
    return [
        {
            "ticket": r.ticket_number or r.ticket_id,
            "unit": r.unit_id,
            "level": r.complaint_level,
            "repeat": r.repeat,
            "collective": r.collective,
            "reopened": r.reopen_count,
            "closed": r.closed_at is not None,
        }
        for r in (await session.scalars(query)).all()
    ]


async def published(session: AsyncSession, bulletin_id: str) -> Bulletin | None:
    return await session.get(Bulletin, bulletin_id)


async def history(session: AsyncSession, branch: str, division: str | None, *, with_branch: bool) -> Sequence[Bulletin]:
    """A branch's bulletins, newest period first; a division's own (and, `with_branch`, the branch's)."""
    b = Bulletin
    query = select(b).where(b.branch == branch)
    if division is not None:
        mine = b.division_id == division
        query = query.where(or_(mine, b.scope == "branch") if with_branch else mine)
    return (await session.scalars(query.order_by(b.period_start.desc(), b.bulletin_id))).all()


async def branches_with_tickets(session: AsyncSession) -> list[tuple[str, str | None]]:
    """Every branch, and every (branch, division), the read model knows: what the schedule publishes for."""
    u, t = ReportUnit, ReportTicket
    branches = (await session.scalars(select(t.branch).distinct())).all()
    divisions = (await session.execute(select(u.branch, u.division_id).distinct())).all()
    return [(b, None) for b in branches] + [(r.branch, r.division_id) for r in divisions]
