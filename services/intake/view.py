"""The agents' ticket view: every ticket and SLA event applied to the ticket's row, clocks and history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.store import CLOSED_STATUSES, Ticket, TicketClock, TicketHistory
from shared.branch_config import BranchPolicies
from shared.events import (
    CallbackAbandoned,
    CallbackAttempted,
    CallbackCompleted,
    CallbackScheduled,
    ComplaintGraded,
    CustomerContacted,
    Event,
    ExtensionGranted,
    ManualDispatchQueued,
    ReplyApproved,
    ReplyRejected,
    SlaBreached,
    SlaEscalated,
    SlaWarning,
    TicketAccepted,
    TicketClosed,
    TicketDispatched,
    TicketReceived,
    TicketReopened,
    TicketReplied,
    TicketResolvedOnFirstContact,
    TicketReturned,
    TicketReturnRefused,
    redacted,
)
from shared.policy.categories import Category, PolicyError
from shared.policy.deadlines import deadline_for
from shared.policy.limits import UNIT_CLOCKS, ComplaintLevel, SlaClock, clocks_for

log = structlog.get_logger(__name__)


def ticket_from_received(event: Event[Any], payload: TicketReceived) -> Ticket:
    customer = payload.customer
    return Ticket(
        ticket_id=event.ticket_id,
        ticket_number=payload.ticket_number or event.ticket_id,
        branch=event.branch,
        channel=payload.channel,
        category=payload.category.value,
        subtype=payload.subtype.value if payload.subtype else None,
        status="received",
        received_at=payload.received_at,
        updated_at=event.occurred_at,
        description=payload.description,
        customer_id=customer.customer_id,
        customer_name=customer.name,
        customer_phone=customer.phone,
        customer_address=customer.address,
        account_number=customer.account_number,
        id_card_number=customer.id_card_number,
        location=payload.location.model_dump(mode="json"),
        complaint=payload.complaint.model_dump(mode="json") if payload.complaint else None,
        complaint_level=int(payload.complaint.level) if payload.complaint else None,
        subject_key=payload.complaint.subject_key if payload.complaint else None,
        hazardous=payload.hazardous,
        urgent=payload.urgent,
        callback_mode=payload.callback.mode,
        callback_requested_at=payload.callback.requested_at,
        owner_agent_id=payload.owner_agent_id,
        call_id=payload.call_id,
        unit_id=payload.unit_id,
        parent_ticket_id=payload.parent_ticket_id,
        external_task_id=payload.external_task_id,
        external_deadline=payload.external_deadline,
        external_deadline_stricter=payload.external_deadline is not None,
        breached=False,
        escalations=[],
        callback={},
    )


def new_ticket_rows(
    event: Event[Any], payload: TicketReceived, policies: BranchPolicies
) -> tuple[Ticket, list[TicketClock | TicketHistory]]:
    """A ticket the view has never seen: its row, its running dispatch clock and its history entry, built without
    reading anything (no clock can exist for a ticket not in the view), to be added and flushed together."""
    ticket = ticket_from_received(event, payload)
    rows: list[TicketClock | TicketHistory] = []
    if SlaClock.DISPATCH in clocks_for(Category(ticket.category)):
        clock = TicketClock(ticket_id=ticket.ticket_id, clock=SlaClock.DISPATCH.value, breached=False)
        _run_clock(clock, ticket, SlaClock.DISPATCH, payload.received_at, policies)
        rows.append(clock)
    rows.append(_history(event))
    return ticket, rows


async def _clock(session: AsyncSession, ticket_id: str, clock: SlaClock) -> TicketClock | None:
    return await session.get(TicketClock, (ticket_id, clock.value))


def _deadline(
    ticket: Ticket, clock: SlaClock, start: datetime, policies: BranchPolicies, level: int | None = None
) -> tuple[datetime | None, bool]:
    try:
        category = Category(ticket.category)
        policy = policies.branch(ticket.branch)
        complaint_level = ComplaintLevel(level) if clock is SlaClock.HANDLE and level else None
        deadline = deadline_for(category, clock, start, policy, policies.calendar, level=complaint_level)
    except (PolicyError, ValueError) as error:
        log.warning("view_deadline_unknown", ticket_id=ticket.ticket_id, clock=clock.value, error=str(error))
        return None, False
    return deadline.at, deadline.provisional


async def _start_clock(
    session: AsyncSession, ticket: Ticket, clock: SlaClock, start: datetime, policies: BranchPolicies
) -> None:
    """(Re)start a clock of the view from `start` with the policy's deadline (RULES.md §2)."""
    if clock not in clocks_for(Category(ticket.category)):
        return
    row = await _clock(session, ticket.ticket_id, clock)
    if row is None:
        row = TicketClock(ticket_id=ticket.ticket_id, clock=clock.value)
        session.add(row)
    elif row.started_at is None and row.breached:
        # the SLA monitor's breach came in (from its own topic) before this start: keep what it said
        row.started_at = start
        return
    _run_clock(row, ticket, clock, start, policies)


def _run_clock(row: TicketClock, ticket: Ticket, clock: SlaClock, start: datetime, policies: BranchPolicies) -> None:
    deadline, provisional = _deadline(ticket, clock, start, policies, ticket.complaint_level)
    row.started_at = start
    row.deadline = deadline
    row.provisional = provisional
    row.stopped_at = None
    row.state = "running"
    row.warned = False
    # a breach is counted once per clock per ticket, whatever restarts happen (RULES.md §8)
    row.breached = bool(row.breached)


async def _stop_clock(session: AsyncSession, ticket_id: str, clock: SlaClock, at: datetime, state: str = "") -> None:
    row = await _clock(session, ticket_id, clock)
    if row is None or row.state != "running":
        return
    row.stopped_at = at
    if state:
        row.state = state
    elif row.breached:
        row.state = "breached"
    else:
        row.state = "met" if row.deadline is None or at <= row.deadline else "late"


async def _stop_all(session: AsyncSession, ticket_id: str, at: datetime) -> None:
    for row in (await session.scalars(select(TicketClock).where(TicketClock.ticket_id == ticket_id))).all():
        if row.state == "running":
            row.stopped_at = at
            row.state = "stopped"


def _history(event: Event[Any]) -> TicketHistory:
    details = redacted(event)["payload"]
    return TicketHistory(
        ticket_id=event.ticket_id,
        event_id=event.event_id,
        event_type=event.type,
        occurred_at=event.occurred_at,
        producer=event.producer,
        summary=details,
    )


async def apply_to_view(session: AsyncSession, event: Event[Any], policies: BranchPolicies) -> None:
    """Apply one event of hotline.tickets or hotline.sla to its ticket (the caller dedupes by event id)."""
    payload = event.payload
    if event.ticket_id is None:
        return
    if isinstance(payload, TicketReceived):
        ticket = await session.get(Ticket, event.ticket_id)
        if ticket is None:
            ticket, rows = new_ticket_rows(event, payload, policies)
            session.add_all([ticket, *rows])
            return
        await _start_clock(session, ticket, SlaClock.DISPATCH, payload.received_at, policies)
        session.add(_history(event))
        return
    ticket = await session.get(Ticket, event.ticket_id)
    if ticket is None:
        # not one of ours (another deployment's test data, or an event older than this database)
        log.info("view_event_for_unknown_ticket", ticket_id=event.ticket_id, type=event.type)
        return
    if ticket.branch != event.branch:
        log.warning("view_event_branch_mismatch", ticket_id=event.ticket_id, type=event.type)
        return
    session.add(_history(event))
    ticket.updated_at = max(ticket.updated_at, event.occurred_at)
    await _apply(session, ticket, event, policies)


def _status(ticket: Ticket, status: str) -> None:
    # a closed ticket stays closed, except that a reopening is itself a lifecycle event
    if ticket.status in CLOSED_STATUSES and status not in ("reopened",):
        return
    ticket.status = status


async def _apply(session: AsyncSession, ticket: Ticket, event: Event[Any], policies: BranchPolicies) -> None:
    payload = event.payload
    at = event.occurred_at
    tid = ticket.ticket_id
    match payload:
        case TicketResolvedOnFirstContact():
            _status(ticket, "resolved_on_call")
            ticket.closed_at = at
            ticket.resolution = payload.model_dump(mode="json")
            await _stop_all(session, tid, at)
        case ComplaintGraded():
            # RULES.md §4: a grade only goes up; the handle deadline is recomputed from its start
            current = ticket.complaint_level or int(ComplaintLevel.MINOR)
            if int(payload.level) < current:
                ticket.complaint_level = int(payload.level)
                row = await _clock(session, tid, SlaClock.HANDLE)
                if row is not None and row.started_at is not None and row.state == "running":
                    row.deadline, row.provisional = _deadline(
                        ticket, SlaClock.HANDLE, row.started_at, policies, ticket.complaint_level
                    )
        case TicketDispatched():
            _status(ticket, "dispatched")
            ticket.unit_id = payload.unit_id
            ticket.division_id = payload.division_id
            ticket.category = payload.category.value
            ticket.subtype = payload.subtype.value if payload.subtype else None
            if payload.complaint_level is not None:
                ticket.complaint_level = min(ticket.complaint_level or 3, int(payload.complaint_level))
            await _stop_clock(session, tid, SlaClock.DISPATCH, at)
            # RULES.md §2: contact, handle and resolve run from (each) dispatch
            for clock in UNIT_CLOCKS:
                await _start_clock(session, ticket, clock, at, policies)
        case ManualDispatchQueued():
            _status(ticket, "dispatch_queued")
        case TicketAccepted():
            _status(ticket, "accepted")
        case CustomerContacted():
            _status(ticket, "contacted")
            await _stop_clock(session, tid, SlaClock.CONTACT, payload.contacted_at)
        case TicketReturned():
            # RULES.md §2 policy default: dispatch restarts at the return; unit clocks at the new dispatch
            _status(ticket, "returned")
            for clock in UNIT_CLOCKS:
                await _stop_clock(session, tid, clock, at, state="returned")
            await _start_clock(session, ticket, SlaClock.DISPATCH, at, policies)
        case TicketReturnRefused():
            _status(ticket, "dispatched")
            await _stop_clock(session, tid, SlaClock.DISPATCH, at)
        case ExtensionGranted():
            row = await _clock(session, tid, payload.clock)
            if row is not None:
                row.deadline = payload.new_deadline
        case TicketReplied():
            _status(ticket, "replied")
            for clock in (SlaClock.HANDLE, SlaClock.RESOLVE):
                await _stop_clock(session, tid, clock, at)
        case ReplyApproved():
            _status(ticket, "callback")
            if ticket.callback_mode != "declined":
                await _start_clock(session, ticket, SlaClock.CALLBACK, payload.reply_received_at, policies)
        case ReplyRejected():
            _status(ticket, "reply_rejected")
        case SlaWarning():
            row = await _clock(session, tid, payload.clock)
            if row is not None:
                row.warned = True
                row.deadline = payload.deadline
                row.provisional = payload.provisional
        case SlaBreached():
            ticket.breached = True
            row = await _clock(session, tid, payload.clock)
            if row is None:
                row = TicketClock(ticket_id=tid, clock=payload.clock.value, state="running")
                session.add(row)
            row.breached = True
            row.deadline = payload.deadline
            row.state = "breached"
        case SlaEscalated():
            ticket.escalations = [
                *ticket.escalations,
                {
                    "clock": payload.clock.value,
                    "to_level": payload.to_level,
                    "to_org_id": payload.to_org_id,
                    "reason": payload.reason,
                    "at": at.isoformat(),
                },
            ]
        case CallbackScheduled():
            callback = dict(ticket.callback)
            callback.update(
                callback_id=payload.callback_id,
                kind=payload.kind.value,
                due_at=payload.due_at.isoformat(),
                next_attempt_at=payload.scheduled_for.isoformat(),
                attempt_number=payload.attempt_number,
            )
            callback.setdefault("attempts", [])
            callback.setdefault("outcome", None)
            ticket.callback = callback
            row = await _clock(session, tid, SlaClock.CALLBACK)
            if row is not None and row.state == "running":
                row.deadline = payload.due_at
        case CallbackAttempted():
            callback = dict(ticket.callback)
            attempt = {"attempt": payload.attempt_number, "outcome": str(payload.outcome), "at": at.isoformat()}
            callback["attempts"] = [*callback.get("attempts", []), attempt]
            ticket.callback = callback
            # RULES.md §5 policy default: the callback clock stops at the first attempt made
            await _stop_clock(session, tid, SlaClock.CALLBACK, at)
        case CallbackCompleted():
            callback = dict(ticket.callback)
            callback.update(
                outcome="completed",
                problem_solved=payload.problem_solved,
                satisfaction=payload.satisfaction,
            )
            ticket.callback = callback
        case CallbackAbandoned():
            callback = dict(ticket.callback)
            callback.update(outcome="abandoned", reason=payload.reason_text, last_outcome=str(payload.last_outcome))
            ticket.callback = callback
        case TicketReopened():
            # RULES.md §5: back to the same unit; its resolve clock starts again from the reopening
            ticket.status = "reopened"
            ticket.closed_at = None
            await _start_clock(session, ticket, SlaClock.RESOLVE, at, policies)
        case TicketClosed():
            _status(ticket, "closed")
            ticket.closed_at = at
            await _stop_all(session, tid, at)
        case _:
            pass  # history only (extension requests and refusals, supervision flags...)
