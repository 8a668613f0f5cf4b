"""The ticket events dispatch consumes: a new ticket is routed, a grade, a reopening or a closing updates it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.handlers.common import PRODUCER, DispatchContext, emit, move, org_for
from services.dispatch.handlers.dispatching import dispatch_to, queue_for_center, urgent_notice
from services.dispatch.lifecycle import Action, IllegalTransition, Status
from services.dispatch.routing import RoutingInput, route
from services.dispatch.store import ProcessedEvent, Ticket, tickets_by_id
from shared.events import (
    ComplaintGraded,
    Event,
    Payload,
    TicketClosed,
    TicketReceived,
    TicketReopened,
    TicketResolvedOnFirstContact,
)
from shared.inbox import unseen
from shared.policy.categories import Category

log = structlog.get_logger(__name__)


def ticket_from_received(event: Event[TicketReceived], now: datetime) -> Ticket:
    p = event.payload
    assert event.ticket_id is not None
    return Ticket(
        ticket_id=event.ticket_id,
        branch=event.branch,
        ticket_number=p.ticket_number,
        status=Status.QUEUED.value,
        category=p.category.value,
        subtype=p.subtype.value if p.subtype else None,
        complaint_level=int(p.complaint.level) if p.complaint else None,
        channel=p.channel,
        selected_unit_id=p.unit_id,
        notified_unit_ids=[],
        dispatch_count=0,
        work_round=1,
        return_count=0,
        returns_by_unit={},
        external_deadline=p.external_deadline,
        received_at=p.received_at,
        dispatch_clock_from=p.received_at,  # RULES.md §2: the dispatch clock runs from receipt
        description=p.description,
        district=p.location.district,
        community=p.location.community,
        customer_name=p.customer.name,
        customer_phone=p.customer.phone,
        customer_address=p.customer.address,
        key_customer=p.customer.key_customer,
        hazardous=p.hazardous,
        urgent=p.urgent,
        owner_agent_id=p.owner_agent_id,
        supervision_flagged=False,
        spot_checked=False,
        updated_at=now,
    )


async def on_ticket_received(
    event: Event[TicketReceived],
    session: AsyncSession,
    ctx: DispatchContext,
    *,
    answered_on_call: bool = False,
    known_absent: bool = False,
) -> list[Event[Any]]:
    """Route a new ticket: to the agent's unit or by the branch's rules, else to the center's queue."""
    assert event.ticket_id is not None
    if not known_absent and await session.get(Ticket, event.ticket_id) is not None:
        return []  # a second receipt of a ticket (a re-sent event with a new id) changes nothing
    ticket = ticket_from_received(event, ctx.clock.now())
    session.add(ticket)
    correlation = str(event.event_id)
    if answered_on_call:
        ticket.status, ticket.close_reason, ticket.closed_at = Status.CLOSED.value, "answered_on_call", ctx.clock.now()
        return []
    org = await org_for(session, ctx, event.branch)
    if org is None:
        return emit(
            session, ctx, queue_for_center(ticket, ctx, "no_matching_rule", "branch has no org tree", correlation)
        )
    p = event.payload
    decision = route(
        RoutingInput(
            category=p.category,
            subtype=p.subtype,
            district=p.location.district,
            community=p.location.community,
            address=p.customer.address,
            selected_unit_id=p.unit_id,
        ),
        org,
    )
    if decision.unit_id is None or decision.division_id is None:
        assert decision.unroutable is not None
        return emit(session, ctx, queue_for_center(ticket, ctx, decision.unroutable, decision.detail, correlation))
    events = dispatch_to(
        ticket,
        ctx,
        org,
        unit_id=decision.unit_id,
        division_id=decision.division_id,
        mode="automatic",
        rule_id=decision.rule_id,
        correlation_id=correlation,
    )
    return emit(session, ctx, events)


async def on_complaint_graded(
    event: Event[ComplaintGraded], session: AsyncSession, ctx: DispatchContext
) -> list[Event[Any]]:
    """Keep the most severe level (RULES.md §4: a grade only goes up); a new level 1 phones the unit."""
    ticket = await session.get(Ticket, event.ticket_id)
    if ticket is None or ticket.category != Category.COMPLAINT.value:
        return []
    level = int(event.payload.level)
    if ticket.complaint_level is not None and ticket.complaint_level <= level:
        return []
    ticket.complaint_level = level
    ticket.updated_at = ctx.clock.now()
    if ticket.state not in (Status.DISPATCHED, Status.ACCEPTED, Status.RETURNED, Status.REPLIED):
        return []
    org = await org_for(session, ctx, ticket.branch)
    return emit(session, ctx, urgent_notice(ticket, ctx, org, str(event.event_id)))


async def on_ticket_reopened(
    event: Event[TicketReopened], session: AsyncSession, ctx: DispatchContext
) -> list[Event[Any]]:
    """RULES.md §5: back to the same unit for a new work round; the resolve clock restarts now."""
    ticket = await session.get(Ticket, event.ticket_id)
    if ticket is None:
        log.warning("reopened_unknown_ticket", ticket_id=event.ticket_id)
        return []
    try:
        move(ticket, Action.REOPEN, ctx)
    except IllegalTransition:
        log.warning("reopen_ignored", ticket_id=ticket.ticket_id, status=ticket.status)
        return []
    ticket.work_round += 1
    ticket.resolve_clock_from = event.occurred_at
    ticket.replied_at = ticket.approved_at = ticket.closed_at = None
    ticket.close_reason = ticket.close_text = None
    return []


async def on_ticket_closed(event: Event[TicketClosed], session: AsyncSession, ctx: DispatchContext) -> list[Event[Any]]:
    ticket = await session.get(Ticket, event.ticket_id)
    if ticket is None or ticket.state is Status.CLOSED:
        return []
    move(ticket, Action.FINISH, ctx)
    ticket.closed_at = event.occurred_at
    ticket.close_reason = event.payload.reason
    ticket.close_text = event.payload.reason_text
    return []


async def on_answered_on_call(
    event: Event[TicketResolvedOnFirstContact], session: AsyncSession, ctx: DispatchContext
) -> list[Event[Any]]:
    """The agent closed it on the call (intake's fact): the unit has nothing left to do."""
    ticket = await session.get(Ticket, event.ticket_id)
    if ticket is None or ticket.state is Status.CLOSED:
        return []
    move(ticket, Action.FINISH, ctx)
    ticket.closed_at, ticket.close_reason = event.occurred_at, "answered_on_call"
    return []


EventHandler = Callable[[Any, AsyncSession, DispatchContext], Awaitable[list[Event[Any]]]]

EVENT_HANDLERS: Mapping[type[Payload], EventHandler] = {
    TicketReceived: on_ticket_received,
    ComplaintGraded: on_complaint_graded,
    TicketReopened: on_ticket_reopened,
    TicketClosed: on_ticket_closed,
    TicketResolvedOnFirstContact: on_answered_on_call,
}
"""The consumed ticket events and their handlers; every other type on the topic is ignored."""


async def handle_ticket_events(
    events: Sequence[Event[Payload]], session: AsyncSession, ctx: DispatchContext
) -> list[Event[Any]]:
    """One batch in one transaction, idempotent on event_id (the inbox rows commit with the changes)."""
    wanted = [e for e in events if type(e.payload) in EVENT_HANDLERS and e.producer != PRODUCER]
    if not wanted:
        return []
    fresh = await unseen(session, ProcessedEvent, [(e.event_id, e.type) for e in wanted], ctx.clock.now())
    answered = {e.ticket_id for e in wanted if isinstance(e.payload, TicketResolvedOnFirstContact)}
    ctx.orgs.clear()  # admin edits show from the next batch on
    # one SELECT for the whole batch: the handlers' session.get() then hits the identity map, and a
    # receipt of a ticket not known yet needs no query of its own (the round trips bound the throughput)
    loaded = await tickets_by_id(session, {e.ticket_id for e in wanted if e.event_id in fresh and e.ticket_id})
    known = set(loaded)  # `loaded` holds the objects: the session's identity map only keeps weak references
    emitted: list[Event[Any]] = []
    for event in wanted:
        if event.event_id not in fresh:
            continue
        if isinstance(event.payload, TicketReceived):
            if event.ticket_id in known:
                continue  # a second receipt of a ticket (a re-sent event with a new id) changes nothing
            emitted += await on_ticket_received(
                event,  # type: ignore[arg-type]
                session,
                ctx,
                answered_on_call=event.ticket_id in answered,
                known_absent=True,
            )
            known.add(str(event.ticket_id))
        else:
            emitted += await EVENT_HANDLERS[type(event.payload)](event, session, ctx)
    return emitted  # the rows go out in one flush when the caller commits
