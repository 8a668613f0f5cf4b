"""What intake's routes share: the request's session, clock, policies and links; the roles; presenters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.handlers import Caller, Links, Policies
from services.intake.references import credentials_of
from services.intake.schemas import (
    TicketCreated,
    TicketSummary,
)
from services.intake.store import Ticket
from services.intake.writer import CreateWriter
from shared.auth import (
    Principal,
    Role,
    ensure_in_scope,
    require_roles,
)
from shared.errors import NotFound
from shared.http.deps import RequestClock, Session, branch_policies


async def _links(request: Request) -> Links:
    # what a work order points at is checked with dispatch's org tree, as the caller (issue 13)
    return Links(getattr(request.app.state, "directory", None), credentials_of(request.headers))


Db = Session
Clk = RequestClock
Pol = Annotated[Policies, Depends(branch_policies)]  # intake's BranchPolicies, with for_request
Lnk = Annotated[Links, Depends(_links)]
Agent = Annotated[Principal, require_roles(Role.AGENT, Role.CENTER_SUPERVISOR)]
# the callback service creates the new ticket of a request raised during a callback (RULES.md §5)
Creator = Annotated[Principal, require_roles(Role.AGENT, Role.CENTER_SUPERVISOR, Role.INTEGRATION)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]
CallAgent = Annotated[Principal, require_roles(Role.AGENT)]
GovImporter = Annotated[Principal, require_roles(Role.INTEGRATION, Role.AGENT, Role.CENTER_SUPERVISOR)]
TicketReader = Annotated[
    Principal,
    require_roles(Role.AGENT, Role.UNIT_HANDLER, Role.DIVISION_SUPERVISOR, Role.CENTER_SUPERVISOR),
]
Revealer = Annotated[Principal, require_roles(Role.AGENT, Role.UNIT_HANDLER)]
CallReader = Annotated[Principal, require_roles(Role.AGENT, Role.CENTER_SUPERVISOR, Role.INTEGRATION)]
Supervisor = Annotated[Principal, require_roles(Role.CENTER_SUPERVISOR, Role.DIVISION_SUPERVISOR)]


def _caller(principal: Principal) -> Caller:
    return Caller(subject=principal.subject, branch=principal.branch, is_agent=principal.role is not Role.INTEGRATION)


def _notify(request: Request) -> None:
    relay = getattr(request.app.state, "relay", None)
    if relay is not None:
        relay.notify()


def _writer(request: Request) -> CreateWriter:
    writer: CreateWriter = request.app.state.writer
    return writer


def created(ticket: Ticket) -> TicketCreated:
    return TicketCreated(
        ticket_id=ticket.ticket_id,
        ticket_number=ticket.ticket_number,
        branch=ticket.branch,
        category=ticket.category,  # type: ignore[arg-type]
        status=ticket.status,
        unit_id=ticket.unit_id,
        complaint_level=ticket.complaint_level,
        call_id=ticket.call_id,
        external_task_id=ticket.external_task_id,
        external_deadline=ticket.external_deadline,
        external_deadline_kept=ticket.external_deadline_stricter,
    )


def summary(ticket: Ticket) -> TicketSummary:
    return TicketSummary(
        ticket_id=ticket.ticket_id,
        ticket_number=ticket.ticket_number,
        branch=ticket.branch,
        channel=ticket.channel,
        category=ticket.category,
        subtype=ticket.subtype,
        status=ticket.status,
        received_at=ticket.received_at,
        closed_at=ticket.closed_at,
        unit_id=ticket.unit_id,
        division_id=ticket.division_id,
        complaint_level=ticket.complaint_level,
        breached=ticket.breached,
        call_id=ticket.call_id,
        customer_phone=ticket.customer_phone,
    )


async def ticket_in_scope(db: AsyncSession, ticket_id: str, principal: Principal) -> Ticket:
    """The ticket, when it exists and lies in the reader's scope (404 otherwise, 403 out of scope)."""
    ticket = await db.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} not found")
    ensure_in_scope(principal, ticket.ref())
    return ticket
