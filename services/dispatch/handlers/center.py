"""The center's actions: review a reply, dispatch by hand, refuse a return, close, decide an extension, flag."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.handlers.common import (
    DispatchContext,
    emit,
    field_error,
    move,
    new_correlation,
    ticket_event,
    ticket_for,
)
from services.dispatch.handlers.dispatching import dispatch_to
from services.dispatch.lifecycle import Action, Status, after_refused_return
from services.dispatch.store import Extension, Flag, Reply, Ticket, load_org, pending_reply
from shared.auth import Principal, Role
from shared.errors import Conflict, NotFound
from shared.events import (
    ExtensionDenied,
    ExtensionGranted,
    Payload,
    ReplyApproved,
    ReplyRejected,
    SupervisionFlagged,
    TicketClosed,
    TicketReturnRefused,
)
from shared.policy.categories import Category, Subtype
from shared.policy.limits import ComplaintLevel, SlaClock


async def _pending_reply(session: AsyncSession, ticket: Ticket) -> Reply:
    found = await pending_reply(session, ticket.ticket_id)
    if found is None:
        raise Conflict("the ticket has no reply waiting for review", code="no_pending_reply")
    return found


async def review_reply(
    session: AsyncSession,
    ctx: DispatchContext,
    principal: Principal,
    ticket_id: str,
    *,
    approve: bool,
    reason: str | None,
    reason_text: str,
    expected_version: int | None,
) -> Ticket:
    """Approve (→ callback, RULES.md §5) or reject with a reason (→ back to the unit)."""
    ticket = await ticket_for(session, principal, ticket_id, expected_version)
    move(ticket, Action.APPROVE if approve else Action.REJECT, ctx)
    entry = await _pending_reply(session, ticket)
    now = ctx.clock.now()
    entry.reviewer_id, entry.reviewed_at, entry.review_text = principal.subject, now, reason_text
    assert ticket.unit_id is not None
    payload: Payload
    if approve:
        entry.status = "approved"
        ticket.approved_at = now
        payload = ReplyApproved(
            reply_id=entry.reply_id,
            unit_id=ticket.unit_id,
            reviewer_id=principal.subject,
            reply_received_at=entry.submitted_at,  # RULES.md §2: the callback clock runs from the reply
        )
    else:
        if not reason:
            raise field_error("reason", "a rejection needs a reason code")
        entry.status, entry.review_reason = "rejected", reason
        ticket.replied_at = None  # the work is not done: the resolve clock runs on to its deadline
        payload = ReplyRejected(
            reply_id=entry.reply_id,
            unit_id=ticket.unit_id,
            reviewer_id=principal.subject,
            reason=reason,
            reason_text=reason_text,
        )
    emit(session, ctx, [ticket_event(ticket, payload, ctx, new_correlation())])
    return ticket


@dataclass(frozen=True)
class Correction:
    """What the center may correct before dispatching by hand (RULES.md §2: correct and re-dispatch)."""

    category: Category | None = None
    subtype: Subtype | None = None
    district: str | None = None
    community: str | None = None


async def dispatch_by_hand(
    session: AsyncSession,
    ctx: DispatchContext,
    principal: Principal,
    ticket_id: str,
    *,
    unit_id: str,
    correction: Correction,
    expected_version: int | None,
) -> Ticket:
    """The manual queue, a returned ticket, or a correction: the center names the unit."""
    ticket = await ticket_for(session, principal, ticket_id, expected_version)
    org = await load_org(session, ticket.branch)
    unit = org.active_unit(unit_id) if org is not None else None
    if unit is None:
        raise field_error("unit_id", f"{unit_id!r} is not an active unit of branch {ticket.branch}")
    category = correction.category or Category(ticket.category)
    subtype = correction.subtype if correction.category or correction.subtype else ticket.subtype_enum
    if (category is Category.SERVICE_REQUEST) != (subtype is not None):
        raise field_error("subtype", "a subtype is required for, and only for, a service_request")
    if category is not Category(ticket.category):
        ticket.complaint_level = int(ComplaintLevel.MINOR) if category is Category.COMPLAINT else None
    ticket.category, ticket.subtype = category.value, subtype.value if subtype else None
    if correction.district is not None:
        ticket.district = correction.district
    if correction.community is not None:
        ticket.community = correction.community
    events = dispatch_to(
        ticket,
        ctx,
        org,
        unit_id=unit.unit_id,
        division_id=unit.division_id,
        mode="manual",
        dispatcher_id=principal.subject,
        correlation_id=new_correlation(),
    )
    emit(session, ctx, events)
    return ticket


async def refuse_return(
    session: AsyncSession,
    ctx: DispatchContext,
    principal: Principal,
    ticket_id: str,
    *,
    reason_text: str,
    expected_version: int | None,
) -> Ticket:
    """RULES.md §2 policy default: the center may refuse a return; the ticket stays with the unit."""
    ticket = await ticket_for(session, principal, ticket_id, expected_version)
    returned_from = Status(ticket.returned_from) if ticket.returned_from else None
    move(ticket, Action.REFUSE_RETURN, ctx, target=after_refused_return(returned_from))
    assert ticket.unit_id is not None
    ticket.returned_from = None
    ticket.dispatch_clock_from = ticket.received_at
    payload = TicketReturnRefused(unit_id=ticket.unit_id, supervisor_id=principal.subject, reason_text=reason_text)
    emit(session, ctx, [ticket_event(ticket, payload, ctx, new_correlation())])
    return ticket


async def close_by_center(
    session: AsyncSession,
    ctx: DispatchContext,
    principal: Principal,
    ticket_id: str,
    *,
    reason_text: str,
    expected_version: int | None,
) -> Ticket:
    """RULES.md §2: a returned (or unroutable) ticket the center closes, with the reason written on it."""
    ticket = await ticket_for(session, principal, ticket_id, expected_version)
    move(ticket, Action.CLOSE, ctx)
    ticket.closed_at, ticket.close_reason, ticket.close_text = ctx.clock.now(), "closed_by_center", reason_text
    payload = TicketClosed(reason="closed_by_center", reason_text=reason_text, closed_by=principal.subject)
    emit(session, ctx, [ticket_event(ticket, payload, ctx, new_correlation())])
    return ticket


async def decide_extension(
    session: AsyncSession,
    ctx: DispatchContext,
    principal: Principal,
    ticket_id: str,
    request_id: str,
    *,
    grant: bool,
    new_deadline: datetime | None,
    reason_text: str,
    expected_version: int | None,
) -> Extension:
    """RULES.md §2: an approved extension moves that clock's deadline; a refused one leaves it."""
    ticket = await ticket_for(session, principal, ticket_id, expected_version)
    move(ticket, Action.DECIDE_EXTENSION, ctx)
    extension = await session.get(Extension, request_id)
    if extension is None or extension.ticket_id != ticket.ticket_id:
        raise NotFound(f"extension request {request_id} not found")
    if extension.status != "pending":
        raise Conflict(f"the extension request was already {extension.status}", code="already_decided")
    now = ctx.clock.now()
    extension.decided_by, extension.decided_at, extension.decision_text = principal.subject, now, reason_text
    clock = SlaClock(extension.clock)
    payload: Payload
    if grant:
        deadline = new_deadline or extension.requested_deadline
        if deadline <= extension.current_deadline:
            raise field_error("new_deadline", "must be later than the deadline it extends")
        extension.status, extension.new_deadline = "granted", deadline
        payload = ExtensionGranted(
            request_id=request_id,
            unit_id=extension.unit_id,
            clock=clock,
            new_deadline=deadline,
            supervisor_id=principal.subject,
        )
    else:
        extension.status = "denied"
        payload = ExtensionDenied(
            request_id=request_id,
            unit_id=extension.unit_id,
            clock=clock,
            supervisor_id=principal.subject,
            reason_text=reason_text,
        )
    emit(session, ctx, [ticket_event(ticket, payload, ctx, new_correlation())])
    return extension


async def flag_ticket(
    session: AsyncSession,
    ctx: DispatchContext,
    principal: Principal,
    ticket_id: str,
    *,
    kind: Literal["supervision", "spot_check"],
    note: str,
) -> Flag:
    """RULES.md §7: a supervision flag (督办) or a spot-check mark, with a note."""
    ticket = await ticket_for(session, principal, ticket_id)
    move(ticket, Action.FLAG, ctx)
    org_level: Literal["center", "division"] = "division" if principal.role is Role.DIVISION_SUPERVISOR else "center"
    entry = Flag(
        flag_id=str(uuid.uuid4()),
        ticket_id=ticket.ticket_id,
        branch=ticket.branch,
        kind=kind,
        supervisor_id=principal.subject,
        org_level=org_level,
        note=note,
        at=ctx.clock.now(),
    )
    session.add(entry)
    if kind == "supervision":
        ticket.supervision_flagged = True
    else:
        ticket.spot_checked = True
    payload = SupervisionFlagged(kind=kind, supervisor_id=principal.subject, org_level=org_level, note=note)
    emit(session, ctx, [ticket_event(ticket, payload, ctx, new_correlation())])
    return entry
