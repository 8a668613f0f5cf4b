"""Area notices: planned interruptions the center registers, and the hot spots and interruptions agents see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting import store
from services.reporting.schemas import AreaNotice, PlannedInterruptionCreate
from services.reporting.store import PlannedInterruption
from shared.auth import Principal
from shared.clock import Clock
from shared.errors import Invalid, OutOfScope


@dataclass(frozen=True)
class NoticeContext:
    clock: Clock
    max_notice_days: int


def _own_branch(principal: Principal, branch: str) -> None:
    if branch != principal.branch:
        raise OutOfScope(f"branch {branch!r} is outside your scope")


async def register_interruption(
    session: AsyncSession, principal: Principal, body: PlannedInterruptionCreate, ctx: NoticeContext
) -> PlannedInterruption:
    """The center records a planned interruption (area, from, to, message); it shows while it lasts."""
    _own_branch(principal, body.branch)
    now = ctx.clock.now()
    if body.ends_at <= body.starts_at:
        raise Invalid.on("body.ends_at", "ends_at must be later than starts_at")
    if body.ends_at <= now:
        raise Invalid.on("body.ends_at", "ends_at is already past: the interruption would never show")
    horizon = timedelta(days=ctx.max_notice_days)
    if body.starts_at > now + horizon:
        raise Invalid.on("body.starts_at", f"starts_at is more than {ctx.max_notice_days} days ahead")
    if body.ends_at - body.starts_at > horizon:
        raise Invalid.on("body.ends_at", f"an interruption lasts at most {ctx.max_notice_days} days")
    notice = PlannedInterruption(
        notice_id=f"PI-{uuid.uuid4().hex[:16]}",
        branch=body.branch,
        district=body.district,
        community=body.community or None,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        message=body.message,
        created_by=principal.subject,
        created_at=now,
    )
    session.add(notice)
    await session.flush()
    return notice


async def area_notices(
    session: AsyncSession, principal: Principal, branch: str, district: str, community: str | None, ctx: NoticeContext
) -> list[AreaNotice]:
    """What is active now for the caller's area: planned interruptions first, then hot spots."""
    _own_branch(principal, branch)
    now = ctx.clock.now()
    notices = [
        AreaNotice(
            notice_id=p.notice_id,
            kind="planned_interruption",
            district=p.district,
            community=p.community,
            category=None,
            message=p.message,
            starts_at=p.starts_at,
            ends_at=p.ends_at,
            count=None,
        )
        for p in await store.active_interruptions(session, branch, district, community, now)
    ]
    notices += [
        AreaNotice(
            notice_id=h.hot_spot_id,
            kind="hot_spot",
            district=h.district,
            community=h.community,
            category=h.category,
            message=h.message,
            starts_at=h.first_call_at,
            ends_at=h.active_until,
            count=h.count,
        )
        for h in await store.active_hot_spots(session, branch, district, community, now)
    ]
    return notices
