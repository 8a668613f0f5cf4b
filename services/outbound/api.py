"""The outbound API: customers' opt-outs, the branch's templates, and the SMS routes of shared/sms."""

from __future__ import annotations

from typing import Annotated

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.outbound.handlers import OutboundContext, set_opt_out
from services.outbound.schemas import OptOutChange, OptOutPublic, TemplatesPublic
from shared.auth import Principal, Role, SecureRouter, require_roles
from shared.privacy import mask_phone

Staff = Annotated[Principal, require_roles(Role.AGENT, Role.CENTER_SUPERVISOR, Role.ADMIN)]
Admin = Annotated[Principal, require_roles(Role.CENTER_SUPERVISOR, Role.ADMIN)]


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return sessions


def _context(request: Request) -> OutboundContext:
    ctx: OutboundContext = request.app.state.outbound
    return ctx


def build_router() -> SecureRouter:
    router = SecureRouter(prefix="/api/v1")

    @router.post("/customers/opt-out", response_model=OptOutPublic, tags=["customers"])
    async def change_opt_out(request: Request, principal: Staff, body: OptOutChange) -> OptOutPublic:
        """Record that the customer wants no status SMS (`opted_out: false` lifts it)."""
        ctx = _context(request)
        async with _sessions(request)() as session, session.begin():
            state = await set_opt_out(
                session, principal.branch, body.phone, body.opted_out, principal.subject, ctx.clock.now()
            )
        return OptOutPublic(phone=mask_phone(body.phone), opted_out=state)

    @router.get("/notices/templates", response_model=TemplatesPublic, tags=["templates"])
    async def templates(request: Request, principal: Admin) -> TemplatesPublic:
        """The branch's status-notice templates and the placeholders they may use."""
        notices = _context(request).notices.for_branch(principal.branch)
        return TemplatesPublic(
            branch=principal.branch,
            source=notices.source.name,
            hotline=notices.hotline,
            templates={
                table: {kind.value: text for kind, text in kinds.items()}
                for table, kinds in notices.templates.by_category.items()
            },
        )

    return router
