"""The center's queues and actions: the manual queue, reviews, extensions, dispatch by hand, close, flag."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch import handlers, store
from services.dispatch.api.common import Center, Supervisor, act, context, in_transaction, role_of
from services.dispatch.api.present import extension_out, summaries
from services.dispatch.handlers import Correction, DispatchContext
from services.dispatch.lifecycle import Status
from services.dispatch.schemas import (
    DispatchIn,
    ExtensionDecisionIn,
    ExtensionOut,
    FlagIn,
    FlagOut,
    ReasonIn,
    ReviewIn,
    TicketDetail,
    TicketSummary,
)
from shared.auth import SecureRouter
from shared.http.deps import Session

router = SecureRouter(prefix="/api/v1")


@router.get("/center/queue", response_model=list[TicketSummary], tags=["center"])
async def manual_queue(request: Request, session: Session, principal: Center) -> list[TicketSummary]:
    """Tickets waiting for the center: unroutable ones and returns, nearest dispatch deadline first."""
    tickets = await store.tickets_where(
        session, store.Ticket.branch == principal.branch, statuses=[Status.QUEUED, Status.RETURNED]
    )
    return await summaries(session, context(request), tickets, role_of(request))


@router.get("/center/reviews", response_model=list[TicketSummary], tags=["center"])
async def reviews(request: Request, session: Session, principal: Center) -> list[TicketSummary]:
    tickets = await store.tickets_where(session, store.Ticket.branch == principal.branch, statuses=[Status.REPLIED])
    return await summaries(session, context(request), tickets, role_of(request))


@router.get("/center/extensions", response_model=list[ExtensionOut], tags=["center"])
async def pending_extensions(request: Request, session: Session, principal: Center) -> list[ExtensionOut]:
    return [extension_out(e) for e in await store.pending_extensions(session, principal.branch)]


@router.post("/tickets/{ticket_id}/dispatch", response_model=TicketDetail, tags=["center"])
async def dispatch(
    ticket_id: str, body: DispatchIn, request: Request, session: Session, principal: Center
) -> TicketDetail:
    """Dispatch by hand (manual queue), or correct and re-dispatch (after a return or a mistake)."""
    correction = Correction(body.category, body.subtype, body.district, body.community)

    return await act(
        request,
        session,
        ticket_id,
        lambda session, ctx: handlers.dispatch_by_hand(
            session,
            ctx,
            principal,
            ticket_id,
            unit_id=body.unit_id,
            correction=correction,
            expected_version=body.expected_version,
        ),
    )


@router.post("/tickets/{ticket_id}/review", response_model=TicketDetail, tags=["center"])
async def review(ticket_id: str, body: ReviewIn, request: Request, session: Session, principal: Center) -> TicketDetail:
    return await act(
        request,
        session,
        ticket_id,
        lambda session, ctx: handlers.review_reply(
            session,
            ctx,
            principal,
            ticket_id,
            approve=body.decision == "approve",
            reason=body.reason,
            reason_text=body.reason_text,
            expected_version=body.expected_version,
        ),
    )


@router.post("/tickets/{ticket_id}/refuse-return", response_model=TicketDetail, tags=["center"])
async def refuse_return(
    ticket_id: str, body: ReasonIn, request: Request, session: Session, principal: Center
) -> TicketDetail:
    return await act(
        request,
        session,
        ticket_id,
        lambda session, ctx: handlers.refuse_return(
            session, ctx, principal, ticket_id, reason_text=body.reason_text, expected_version=body.expected_version
        ),
    )


@router.post("/tickets/{ticket_id}/close", response_model=TicketDetail, tags=["center"])
async def close(ticket_id: str, body: ReasonIn, request: Request, session: Session, principal: Center) -> TicketDetail:
    return await act(
        request,
        session,
        ticket_id,
        lambda session, ctx: handlers.close_by_center(
            session, ctx, principal, ticket_id, reason_text=body.reason_text, expected_version=body.expected_version
        ),
    )


@router.post("/tickets/{ticket_id}/extensions/{request_id}/decision", response_model=ExtensionOut, tags=["center"])
async def decide_extension(
    ticket_id: str, request_id: str, body: ExtensionDecisionIn, request: Request, session: Session, principal: Center
) -> ExtensionOut:
    async def work(session: AsyncSession, ctx: DispatchContext) -> ExtensionOut:
        extension = await handlers.decide_extension(
            session,
            ctx,
            principal,
            ticket_id,
            request_id,
            grant=body.decision == "grant",
            new_deadline=body.new_deadline,
            reason_text=body.reason_text,
            expected_version=body.expected_version,
        )
        return extension_out(extension)

    return await in_transaction(request, session, ticket_id, work)


@router.post("/tickets/{ticket_id}/flags", response_model=FlagOut, status_code=201, tags=["center"])
async def flag(ticket_id: str, body: FlagIn, request: Request, session: Session, principal: Supervisor) -> FlagOut:
    """A supervision flag (督办) or a spot-check mark with a note (center or division supervisors)."""

    async def work(session: AsyncSession, ctx: DispatchContext) -> FlagOut:
        entry = await handlers.flag_ticket(session, ctx, principal, ticket_id, kind=body.kind, note=body.note)
        return FlagOut(
            flag_id=entry.flag_id,
            kind=entry.kind,
            supervisor_id=entry.supervisor_id,
            org_level=entry.org_level,
            note=entry.note,
            at=entry.at,
        )

    return await in_transaction(request, session, ticket_id, work)
