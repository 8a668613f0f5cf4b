"""Area-notice tables (area calls, hot spots, planned interruptions) and their queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Index, Integer, String, Text, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, Mapped, mapped_column

from services.reporting.store.base import Base
from shared.db import AwareDateTime

# --------------------------------------------------------------------------- area notices


class AreaCall(Base):
    """One received ticket's place and category: what hot spots are counted from (one row per ticket)."""

    __tablename__ = "area_calls"
    __table_args__ = (Index("ix_area_calls_area", "branch", "district", "category", "received_at"),)

    ticket_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    branch: Mapped[str] = mapped_column(String(128))
    district: Mapped[str] = mapped_column(String(64))
    community: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(AwareDateTime())


class HotSpot(Base):
    """A cluster of calls (RULES.md §7): shown to agents until a window has passed since its last call."""

    __tablename__ = "hot_spots"
    __table_args__ = (Index("ix_hot_spots_area", "branch", "district", "active_until"),)

    hot_spot_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    branch: Mapped[str] = mapped_column(String(128))
    district: Mapped[str] = mapped_column(String(64))
    community: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[int] = mapped_column(Integer)
    window_minutes: Mapped[int] = mapped_column(Integer)
    first_call_at: Mapped[datetime] = mapped_column(AwareDateTime())
    last_call_at: Mapped[datetime] = mapped_column(AwareDateTime())
    active_until: Mapped[datetime] = mapped_column(AwareDateTime())
    message: Mapped[str] = mapped_column(Text)


class PlannedInterruption(Base):
    """A planned gas interruption the center registered for an area, from `starts_at` to `ends_at`."""

    __tablename__ = "planned_interruptions"
    __table_args__ = (Index("ix_planned_interruptions_area", "branch", "district", "ends_at"),)

    notice_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    branch: Mapped[str] = mapped_column(String(128))
    district: Mapped[str] = mapped_column(String(64))
    community: Mapped[str | None] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(AwareDateTime())
    ends_at: Mapped[datetime] = mapped_column(AwareDateTime())
    message: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())


def _in_area(
    district_col: InstrumentedAttribute[str],
    community_col: InstrumentedAttribute[str | None],
    district: str,
    community: str | None,
) -> ColumnElement[bool]:
    # a district-wide notice concerns every community of it; without a community every notice of the district shows
    if community is None:
        return district_col == district
    return (district_col == district) & or_(community_col.is_(None), community_col == community)


async def active_interruptions(
    session: AsyncSession, branch: str, district: str, community: str | None, now: datetime
) -> Sequence[PlannedInterruption]:
    p = PlannedInterruption
    query = (
        select(p)
        .where(p.branch == branch, _in_area(p.district, p.community, district, community))
        .where(p.starts_at <= now, p.ends_at > now)
        .order_by(p.starts_at, p.notice_id)
    )
    return (await session.scalars(query)).all()


async def active_hot_spots(
    session: AsyncSession, branch: str, district: str, community: str | None, now: datetime
) -> Sequence[HotSpot]:
    h = HotSpot
    query = (
        select(h)
        .where(h.branch == branch, _in_area(h.district, h.community, district, community))
        .where(h.first_call_at <= now, h.active_until > now)
        .order_by(h.first_call_at, h.hot_spot_id)
    )
    return (await session.scalars(query)).all()


async def call_times(
    session: AsyncSession,
    branch: str,
    district: str,
    community: str | None,
    category: str,
    after: datetime,
    before: datetime,
) -> list[datetime]:
    """When the area's calls of `category` in (after, before) came: a range scan of the area index."""
    c = AreaCall
    query = select(c.received_at).where(
        c.branch == branch,
        c.district == district,
        c.category == category,
        c.received_at > after,
        c.received_at < before,
    )
    if community is not None:
        query = query.where(c.community == community)
    return list((await session.scalars(query)).all())


async def hot_spots_showing_after(
    session: AsyncSession, branch: str, district: str, community: str | None, category: str, at: datetime
) -> Sequence[HotSpot]:
    """The area's hot spots of that category that still show after `at` (a cluster a call may belong to)."""
    h = HotSpot
    query = select(h).where(
        h.branch == branch,
        h.district == district,
        h.community.is_(None) if community is None else h.community == community,
        h.category == category,
        h.active_until > at,
    )
    return (await session.scalars(query.order_by(h.first_call_at))).all()
