"""Area notices: the center registers planned interruptions; agents read what is active for a caller's area."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from services.reporting import handlers
from services.reporting.api.common import CallTaker, Center
from services.reporting.handlers import NoticeContext
from services.reporting.schemas import AreaNotices, PlannedInterruptionCreate, PlannedInterruptionPublic
from shared.auth import SecureRouter
from shared.http.deps import Session

PlaceQuery = Query(min_length=1, max_length=64)


def _context(request: Request) -> NoticeContext:
    state = request.app.state
    return NoticeContext(clock=state.clock, max_notice_days=state.reporting_settings.max_notice_days)


Ctx = Annotated[NoticeContext, Depends(_context)]


def router() -> SecureRouter:
    r = SecureRouter(prefix="/api/v1", tags=["area notices"])

    @r.post("/planned-interruptions", response_model=PlannedInterruptionPublic, status_code=201)
    async def register_planned_interruption(
        body: PlannedInterruptionCreate, request: Request, session: Session, principal: Center, ctx: Ctx
    ) -> PlannedInterruptionPublic:
        """A planned gas interruption for a district (or one community of it), shown to agents while it lasts."""
        async with session.begin():
            notice = await handlers.register_interruption(session, principal, body, ctx)
        return PlannedInterruptionPublic.model_validate(notice, from_attributes=True)

    @r.get("/area-notices", response_model=AreaNotices)
    async def area_notices(
        request: Request,
        session: Session,
        principal: CallTaker,
        ctx: Ctx,
        branch: Annotated[str, Query(min_length=1, max_length=64, pattern=r"^\S+$")],
        district: Annotated[str, PlaceQuery],
        community: Annotated[str | None, PlaceQuery] = None,
    ) -> AreaNotices:
        """The notices active now for a caller's area: planned interruptions, then hot spots (screen pop)."""
        place = " ".join(district.split())
        sub = " ".join(community.split()) if community else None
        notices = await handlers.area_notices(session, principal, branch, place, sub or None, ctx)
        # `branch` puts the instants on that branch's wall clock (shared.zones); `notices` is the contract
        return AreaNotices(branch=branch, notices=notices)

    return r
