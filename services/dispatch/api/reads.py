"""Reading tickets: the unit's inbox, the scoped ticket list, one ticket, its history, and revealing a field."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch import handlers
from services.dispatch.api.common import AUDIT, TicketReader, UnitHandler, context, role_of
from services.dispatch.api.present import detail, summaries
from services.dispatch.lifecycle import Status
from services.dispatch.schemas import HistoryEntry, TicketDetail, TicketSummary
from services.dispatch.store import Ticket, emitted_events, in_scope, tickets_where
from shared.auth import Principal, SecureRouter
from shared.auth.reveal import Revealable, add_reveal_route
from shared.errors import NotFound
from shared.http.deps import Session
from shared.http.ratelimit import rate_limited
from shared.privacy import PersonalField

router = SecureRouter(prefix="/api/v1")


@router.get("/unit/inbox", response_model=list[TicketSummary], tags=["unit"])
async def unit_inbox(request: Request, session: Session, principal: UnitHandler) -> list[TicketSummary]:
    """The unit's open tickets, nearest deadline first, with each clock's remaining time."""
    tickets = await tickets_where(session, in_scope(principal.scope), statuses=[Status.DISPATCHED, Status.ACCEPTED])
    return await summaries(session, context(request), tickets, role_of(request))


@router.get("/tickets", response_model=list[TicketSummary], tags=["center"])
async def list_tickets(
    request: Request,
    session: Session,
    principal: TicketReader,
    status: Annotated[list[Status] | None, Query()] = None,
    unit_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[TicketSummary]:
    """Tickets in the caller's scope (branch, division or unit), filtered by status and unit."""
    tickets = await tickets_where(
        session, in_scope(principal.scope), statuses=status or [], unit_id=unit_id, newest_first=limit
    )
    return await summaries(session, context(request), tickets, role_of(request))


@router.get("/tickets/{ticket_id}", response_model=TicketDetail, tags=["unit", "center"])
async def read_ticket(ticket_id: str, request: Request, session: Session, principal: TicketReader) -> TicketDetail:
    ticket = await handlers.ticket_for(session, principal, ticket_id)
    return await detail(session, context(request), ticket, role_of(request))


@router.get("/tickets/{ticket_id}/history", response_model=list[HistoryEntry], tags=["unit", "center"])
async def ticket_history(
    ticket_id: str, request: Request, session: Session, principal: TicketReader
) -> list[HistoryEntry]:
    """The events dispatch emitted for this ticket, in order."""
    await handlers.ticket_for(session, principal, ticket_id)
    return [
        HistoryEntry(event_id=e.event_id, type=e.type, topic=e.topic, created_at=e.created_at)
        for e in await emitted_events(session, ticket_id)
    ]


async def _revealable(session: AsyncSession, principal: Principal, ticket_id: str, now: datetime) -> Revealable:
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} not found")
    values = {
        PersonalField.NAME: ticket.customer_name,
        PersonalField.PHONE: ticket.customer_phone,
        PersonalField.ADDRESS: ticket.customer_address,
    }
    return Revealable(ticket.ref(), values)


add_reveal_route(
    router,
    "/tickets/{ticket_id}/reveal",
    revealer=UnitHandler,
    lookup=_revealable,
    audit=AUDIT,
    description=(
        "The customer's name, phone or address in clear for the unit holding the ticket, audited (RULES.md §6)."
    ),
    tags=["unit"],
    dependencies=[rate_limited("reveal")],
)
