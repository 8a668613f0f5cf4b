"""Dispatch use cases: routing received tickets, the unit's and the center's actions, each staging its events."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import structlog
from prometheus_client import Counter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.clocks import ticket_clocks
from services.dispatch.lifecycle import (
    Action,
    IllegalTransition,
    StaleVersion,
    Status,
    after_refused_return,
    next_status,
)
from services.dispatch.notify import Notifier
from services.dispatch.routing import OrgTree, RoutingInput, route
from services.dispatch.store import (
    AttachmentRecord,
    Extension,
    Flag,
    Outbox,
    ProcessedEvent,
    Reply,
    Ticket,
    load_org,
)
from shared.auth import Principal, Role, ensure_in_scope
from shared.clock import Clock
from shared.events import (
    Attachment,
    ComplaintGraded,
    CustomerContacted,
    Event,
    ExtensionDenied,
    ExtensionGranted,
    ExtensionRequested,
    ManualDispatchQueued,
    Payload,
    Recipient,
    ReplyApproved,
    ReplyRejected,
    SupervisionFlagged,
    TicketAccepted,
    TicketClosed,
    TicketDispatched,
    TicketReceived,
    TicketReopened,
    TicketReplied,
    TicketResolvedOnFirstContact,
    TicketReturned,
    TicketReturnRefused,
    UrgentNoticeRequested,
    deterministic_event_id,
    new_event,
)
from shared.http.errors import ApiError
from shared.inbox import unseen
from shared.outbox import stage
from shared.policy import WorkingDayCalendar
from shared.policy.categories import Category, Subtype
from shared.policy.limits import UNIT_CLOCKS, ComplaintLevel, SlaClock
from shared.storage import AttachmentStorage, check_attachment, sha256_hex

log = structlog.get_logger(__name__)

PRODUCER = "dispatch"
MANUAL_QUEUE = Counter(
    "hotline_dispatch_manual_queue_total", "Tickets no rule could route (center's manual queue)", ["branch", "reason"]
)
DISPATCHED = Counter("hotline_dispatch_dispatched_total", "Tickets dispatched to a unit", ["branch", "mode"])


@dataclass
class DispatchContext:
    """What the use cases need besides the session: the clock, the calendar, storage, the notifier."""

    clock: Clock
    calendar: WorkingDayCalendar
    storage: AttachmentStorage | None = None
    notifier: Notifier | None = None
    max_attachment_bytes: int = 5 * 1024 * 1024
    max_attachments_per_reply: int = 10
    orgs: dict[str, OrgTree | None] = field(default_factory=dict)  # per-batch org cache (worker only)


# --------------------------------------------------------------------------- helpers


def _event(ticket: Ticket, payload: Payload, ctx: DispatchContext, correlation_id: str, **kw: Any) -> Event[Any]:
    return new_event(
        payload,
        branch=ticket.branch,
        producer=PRODUCER,
        correlation_id=correlation_id,
        occurred_at=ctx.clock.now(),
        ticket_id=ticket.ticket_id,
        **kw,
    )


def _emit(session: AsyncSession, ctx: DispatchContext, events: Sequence[Event[Any]]) -> list[Event[Any]]:
    stage(session, Outbox, events, ctx.clock)
    return list(events)


def _move(ticket: Ticket, action: Action, ctx: DispatchContext, target: Status | None = None) -> None:
    """Apply a transition of the lifecycle (RULES.md §2 statuses); illegal ones raise IllegalTransition."""
    status = next_status(ticket.state, action, version=ticket.version)
    ticket.status = (target or status).value
    ticket.updated_at = ctx.clock.now()  # also bumps the version of actions that keep the status


def _field_error(field_name: str, message: str, status: int = 422) -> ApiError:
    return ApiError(status, message, fields=[{"field": field_name, "message": message}])


async def org_for(session: AsyncSession, ctx: DispatchContext, branch: str) -> OrgTree | None:
    if branch not in ctx.orgs:
        ctx.orgs[branch] = await load_org(session, branch)
    return ctx.orgs[branch]


async def ticket_for(
    session: AsyncSession, principal: Principal, ticket_id: str, expected_version: int | None = None
) -> Ticket:
    """The ticket if the principal may see it (404 otherwise, RULES.md §6), at the version the caller read."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise ApiError(404, f"ticket {ticket_id} not found")
    ensure_in_scope(principal, ticket.ref())
    if expected_version is not None and expected_version != ticket.version:
        raise StaleVersion(ticket.state, ticket.version, expected_version)
    return ticket


def _holding_unit(principal: Principal, ticket: Ticket) -> str:
    """The unit acting; only the unit the ticket is dispatched to may act on it."""
    if principal.role is not Role.UNIT_HANDLER or ticket.unit_id is None or principal.unit != ticket.unit_id:
        raise ApiError(403, "only a handler of the unit holding the ticket may do this", code="forbidden")
    return ticket.unit_id


def _urgent_reason(ticket: Ticket) -> Literal["alarm", "complaint_level_1"] | None:
    if ticket.category == Category.ALARM.value:
        return "alarm"
    if ticket.category == Category.COMPLAINT.value and ticket.complaint_level == ComplaintLevel.MAJOR:
        return "complaint_level_1"
    return None


def _urgent_notice(ticket: Ticket, ctx: DispatchContext, org: OrgTree | None, correlation_id: str) -> list[Event[Any]]:
    """RULES.md §1, §8: an alarm or a level-1 complaint's unit is phoned at once, unless intake already did."""
    reason = _urgent_reason(ticket)
    unit_id = ticket.unit_id
    if reason is None or unit_id is None or ticket.division_id is None:
        return []
    if unit_id in (ticket.notified_unit_ids or []):
        return []
    if reason == "alarm" and unit_id == ticket.selected_unit_id:
        return []  # intake's alarm fast path phoned the unit the agent named
    recipients = [Recipient(org_level="unit", org_id=unit_id)]
    if reason == "alarm":
        recipients.append(Recipient(org_level="division", org_id=ticket.division_id))
    elif org is not None:
        # RULES.md §7: major complaints are reported to the center
        recipients.append(Recipient(org_level="center", org_id=org.center_id))
    ticket.notified_unit_ids = [*(ticket.notified_unit_ids or []), unit_id]
    what = "gas alarm" if reason == "alarm" else "level-1 complaint"
    notice = UrgentNoticeRequested(
        reason=reason,
        recipients=tuple(recipients),
        category=Category(ticket.category),
        message=f"{what} {ticket.ticket_number or ticket.ticket_id}: act now",
        address=ticket.customer_address,
        contact_phone=ticket.customer_phone,
    )
    event_id = deterministic_event_id("UrgentNoticeRequested", ticket.ticket_id, unit_id, reason)
    return [_event(ticket, notice, ctx, correlation_id, event_id=event_id)]


def dispatch_to(
    ticket: Ticket,
    ctx: DispatchContext,
    org: OrgTree | None,
    *,
    unit_id: str,
    division_id: str,
    mode: Literal["automatic", "manual"],
    correlation_id: str,
    rule_id: str | None = None,
    dispatcher_id: str | None = None,
) -> list[Event[Any]]:
    """Send the ticket to a unit (first dispatch, manual dispatch or re-dispatch); unit clocks start now."""
    _move(ticket, Action.DISPATCH, ctx)
    now = ctx.clock.now()
    previous = ticket.unit_id if ticket.dispatch_count else None
    ticket.previous_unit_id = previous
    ticket.unit_id, ticket.division_id = unit_id, division_id
    ticket.dispatch_count += 1
    ticket.dispatch_mode, ticket.rule_id = mode, rule_id
    ticket.queue_reason = ticket.queue_detail = None
    # RULES.md §2 policy default: the unit clocks start again at each new dispatch
    ticket.dispatched_at = ticket.resolve_clock_from = now
    ticket.accepted_at = ticket.contacted_at = ticket.replied_at = ticket.handle_stopped_at = None
    ticket.handler_id = None
    ticket.returned_from = None
    notice = _urgent_notice(ticket, ctx, org, correlation_id)
    dispatched = TicketDispatched(
        unit_id=unit_id,
        division_id=division_id,
        category=Category(ticket.category),
        subtype=ticket.subtype_enum,
        complaint_level=ticket.level,
        mode=mode,
        rule_id=rule_id,
        dispatcher_id=dispatcher_id,
        previous_unit_id=previous,
        dispatch_count=ticket.dispatch_count,
        center_id=org.center_id if org is not None else None,
        external_deadline=ticket.external_deadline,
    )
    event_id = deterministic_event_id("TicketDispatched", ticket.ticket_id, ticket.dispatch_count)
    DISPATCHED.labels(ticket.branch, mode).inc()
    # the notice first: the unit must reach the scene without waiting for the ticket (RULES.md §1)
    return [*notice, _event(ticket, dispatched, ctx, correlation_id, event_id=event_id)]


def queue_for_center(
    ticket: Ticket,
    ctx: DispatchContext,
    reason: Literal["no_matching_rule", "ambiguous_rules", "returned", "corrected", "consumer_failed"],
    detail: str,
    correlation_id: str,
) -> list[Event[Any]]:
    """Never dropped, never guessed: the center dispatches by hand; ops get an alert."""
    ticket.status = Status.QUEUED.value
    ticket.updated_at = ctx.clock.now()
    ticket.queue_reason, ticket.queue_detail = reason, detail
    MANUAL_QUEUE.labels(ticket.branch, reason).inc()
    log.warning("ticket_queued_for_manual_dispatch", ticket_id=ticket.ticket_id, branch=ticket.branch, reason=reason)
    payload = ManualDispatchQueued(reason=reason, reason_text=detail[:2000])
    event_id = deterministic_event_id("ManualDispatchQueued", ticket.ticket_id, ticket.dispatch_count, reason)
    return [_event(ticket, payload, ctx, correlation_id, event_id=event_id)]


# --------------------------------------------------------------------------- consumed events


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
        return _emit(
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
        return _emit(session, ctx, queue_for_center(ticket, ctx, decision.unroutable, decision.detail, correlation))
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
    return _emit(session, ctx, events)


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
    return _emit(session, ctx, _urgent_notice(ticket, ctx, org, str(event.event_id)))


async def on_ticket_reopened(
    event: Event[TicketReopened], session: AsyncSession, ctx: DispatchContext
) -> list[Event[Any]]:
    """RULES.md §5: back to the same unit for a new work round; the resolve clock restarts now."""
    ticket = await session.get(Ticket, event.ticket_id)
    if ticket is None:
        log.warning("reopened_unknown_ticket", ticket_id=event.ticket_id)
        return []
    try:
        _move(ticket, Action.REOPEN, ctx)
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
    _move(ticket, Action.FINISH, ctx)
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
    _move(ticket, Action.FINISH, ctx)
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
    loaded = await _load_tickets(session, {e.ticket_id for e in wanted if e.event_id in fresh and e.ticket_id})
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


async def _load_tickets(session: AsyncSession, ticket_ids: set[str]) -> dict[str, Ticket]:
    """Load the batch's tickets into the session in one query, by id."""
    if not ticket_ids:
        return {}
    found = await session.scalars(select(Ticket).where(Ticket.ticket_id.in_(ticket_ids)))
    return {ticket.ticket_id: ticket for ticket in found}


# --------------------------------------------------------------------------- unit commands


async def accept(
    session: AsyncSession, ctx: DispatchContext, principal: Principal, ticket_id: str, expected_version: int | None
) -> Ticket:
    ticket = await ticket_for(session, principal, ticket_id, expected_version)
    unit_id = _holding_unit(principal, ticket)
    _move(ticket, Action.ACCEPT, ctx)
    ticket.accepted_at, ticket.handler_id = ctx.clock.now(), principal.subject
    _emit(
        session,
        ctx,
        [_event(ticket, TicketAccepted(unit_id=unit_id, handler_id=principal.subject), ctx, _correlation())],
    )
    return ticket


def _correlation() -> str:
    return str(uuid.uuid4())


async def record_contact(
    session: AsyncSession,
    ctx: DispatchContext,
    principal: Principal,
    ticket_id: str,
    *,
    method: Literal["phone", "sms", "visit", "other"],
    contacted_at: datetime | None,
    appointment_at: datetime | None,
    note: str,
    expected_version: int | None,
) -> Ticket:
    """RULES.md §2: the first contact stops the `contact` clock at the time it happened."""
    ticket = await ticket_for(session, principal, ticket_id, expected_version)
    unit_id = _holding_unit(principal, ticket)
    _move(ticket, Action.CONTACT, ctx)
    now = ctx.clock.now()
    when = contacted_at or now
    if when > now:
        raise _field_error("contacted_at", "a contact cannot be recorded in the future")
    if ticket.dispatched_at is not None and when < ticket.dispatched_at:
        raise _field_error("contacted_at", "the contact is earlier than the dispatch to your unit")
    if ticket.contacted_at is None:
        ticket.contacted_at = when
    payload = CustomerContacted(
        unit_id=unit_id,
        handler_id=principal.subject,
        contacted_at=when,
        method=method,
        appointment_at=appointment_at,
        note=note,
    )
    _emit(session, ctx, [_event(ticket, payload, ctx, _correlation())])
    return ticket


async def return_ticket(
    session: AsyncSession,
    ctx: DispatchContext,
    principal: Principal,
    ticket_id: str,
    *,
    reason: Literal["outside_duties", "wrong_or_missing_information", "customer_unreachable"],
    reason_text: str,
    expected_version: int | None,
) -> Ticket:
    """RULES.md §2 (§15(三)): back to the center; the dispatch clock restarts at the return."""
    ticket = await ticket_for(session, principal, ticket_id, expected_version)
    unit_id = _holding_unit(principal, ticket)
    returned_from = ticket.state
    _move(ticket, Action.RETURN, ctx)
    now = ctx.clock.now()
    ticket.returned_from = returned_from.value
    ticket.returned_at = ticket.dispatch_clock_from = now
    ticket.return_reason, ticket.return_text = reason, reason_text
    ticket.return_count += 1
    # RULES.md §2, §7: counted against the returning unit (a new dict: SQLAlchemy sees the change)
    counted = dict(ticket.returns_by_unit or {})
    counted[unit_id] = counted.get(unit_id, 0) + 1
    ticket.returns_by_unit = counted
    payload = TicketReturned(unit_id=unit_id, handler_id=principal.subject, reason=reason, reason_text=reason_text)
    _emit(session, ctx, [_event(ticket, payload, ctx, _correlation())])
    return ticket


async def _extensions(session: AsyncSession, ticket_id: str) -> list[Extension]:
    return list(await session.scalars(select(Extension).where(Extension.ticket_id == ticket_id)))


async def request_extension(
    session: AsyncSession,
    ctx: DispatchContext,
    principal: Principal,
    ticket_id: str,
    *,
    clock: SlaClock,
    requested_deadline: datetime,
    reason_text: str,
    expected_version: int | None,
) -> Extension:
    """RULES.md §2 (§15(二)2): only for a running unit clock, only before its deadline, for a later one."""
    ticket = await ticket_for(session, principal, ticket_id, expected_version)
    unit_id = _holding_unit(principal, ticket)
    _move(ticket, Action.REQUEST_EXTENSION, ctx)
    if clock not in UNIT_CLOCKS:
        raise _field_error("clock", f"extensions apply to the unit clocks: {', '.join(c.value for c in UNIT_CLOCKS)}")
    now = ctx.clock.now()
    extensions = await _extensions(session, ticket.ticket_id)
    views = {v.clock: v for v in ticket_clocks(ticket, now, ctx.calendar, extensions=extensions, clocks=UNIT_CLOCKS)}
    view = views.get(clock)
    if view is None or not view.running:
        raise _field_error("clock", f"the {clock.value} clock is not running for this ticket", 409)
    if now >= view.deadline:
        raise ApiError(
            409,
            f"the {clock.value} deadline {view.deadline.isoformat()} has passed: ask before it passes",
            code="deadline_passed",
            fields=[{"field": "clock", "message": "the deadline has already passed"}],
        )
    if requested_deadline <= view.deadline:
        raise _field_error("requested_deadline", f"must be later than the current deadline {view.deadline.isoformat()}")
    pending = [e for e in extensions if e.clock == clock.value and e.status == "pending"]
    if pending:
        raise ApiError(
            409,
            f"an extension of the {clock.value} clock is already waiting for the center",
            code="extension_pending",
            fields=[{"field": "clock", "message": "already requested"}],
        )
    extension = Extension(
        request_id=str(uuid.uuid4()),
        ticket_id=ticket.ticket_id,
        branch=ticket.branch,
        unit_id=unit_id,
        work_round=ticket.work_round,
        dispatch_count=ticket.dispatch_count,
        clock=clock.value,
        handler_id=principal.subject,
        current_deadline=view.deadline,
        requested_deadline=requested_deadline,
        reason_text=reason_text,
        requested_at=now,
        status="pending",
    )
    session.add(extension)
    payload = ExtensionRequested(
        request_id=extension.request_id,
        unit_id=unit_id,
        handler_id=principal.subject,
        clock=clock,
        current_deadline=view.deadline,
        requested_deadline=requested_deadline,
        reason_text=reason_text,
    )
    _emit(session, ctx, [_event(ticket, payload, ctx, _correlation())])
    return extension


def decode_base64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _field_error("content_base64", "not valid base64") from None


async def add_attachment(
    session: AsyncSession,
    ctx: DispatchContext,
    principal: Principal,
    ticket_id: str,
    *,
    filename: str | None,
    media_type: str,
    data: bytes,
) -> AttachmentRecord:
    """Check and store one photo or receipt for the unit's reply; the bytes go to storage, not the database."""
    ticket = await ticket_for(session, principal, ticket_id)
    unit_id = _holding_unit(principal, ticket)
    if ticket.state is not Status.ACCEPTED:
        raise IllegalTransition(Action.REPLY, ticket.state, ticket.version)
    problem = check_attachment(data, media_type, ctx.max_attachment_bytes)
    if problem is not None:
        raise _field_error(problem.field, problem.message, problem.status)
    if ctx.storage is None:
        raise ApiError(503, "attachment storage is not configured")
    attachment_id = str(uuid.uuid4())
    key = f"{ticket.branch}/{ticket.ticket_id}/{attachment_id}"
    await ctx.storage.put(key, data, media_type)
    record = AttachmentRecord(
        attachment_id=attachment_id,
        ticket_id=ticket.ticket_id,
        branch=ticket.branch,
        unit_id=unit_id,
        media_type=media_type.split(";", 1)[0].strip().lower(),
        size_bytes=len(data),
        filename=filename,
        sha256=sha256_hex(data),
        storage_key=key,
        uploaded_by=principal.subject,
        uploaded_at=ctx.clock.now(),
    )
    session.add(record)
    return record


async def reply(
    session: AsyncSession,
    ctx: DispatchContext,
    principal: Principal,
    ticket_id: str,
    *,
    result: str,
    opinion: str,
    attachment_ids: Sequence[str],
    expected_version: int | None,
    refused: bool = False,
) -> Reply:
    """The unit's reply reaches the center: stops `resolve` (and `handle`); the callback clock runs from it."""
    ticket = await ticket_for(session, principal, ticket_id, expected_version)
    unit_id = _holding_unit(principal, ticket)
    if refused and ticket.category_enum is not Category.SERVICE_REQUEST:
        # RULES.md §2: only a service request has a refusal limit
        raise _field_error("refused", "only a service request can be refused")
    _move(ticket, Action.REPLY, ctx)
    if len(attachment_ids) > ctx.max_attachments_per_reply:
        raise _field_error("attachment_ids", f"at most {ctx.max_attachments_per_reply} attachments per reply")
    records: list[AttachmentRecord] = []
    for index, attachment_id in enumerate(dict.fromkeys(attachment_ids)):
        record = await session.get(AttachmentRecord, attachment_id)
        if record is None or record.ticket_id != ticket.ticket_id or record.unit_id != unit_id:
            raise _field_error(f"attachment_ids.{index}", f"no attachment {attachment_id} of this ticket")
        if record.reply_id is not None:
            raise _field_error(f"attachment_ids.{index}", f"attachment {attachment_id} belongs to an earlier reply")
        records.append(record)
    now = ctx.clock.now()
    entry = Reply(
        reply_id=str(uuid.uuid4()),
        ticket_id=ticket.ticket_id,
        branch=ticket.branch,
        unit_id=unit_id,
        handler_id=principal.subject,
        result=result,
        opinion=opinion,
        submitted_at=now,
        status="pending",
        refused=refused,
    )
    session.add(entry)
    for record in records:
        record.reply_id = entry.reply_id
    ticket.replied_at = now
    ticket.handle_stopped_at = ticket.handle_stopped_at or now
    payload = TicketReplied(
        reply_id=entry.reply_id,
        unit_id=unit_id,
        handler_id=principal.subject,
        result=result,
        opinion=opinion,
        attachments=tuple(
            Attachment(
                attachment_id=r.attachment_id, media_type=r.media_type, size_bytes=r.size_bytes, filename=r.filename
            )
            for r in records
        ),
        refused=refused,
    )
    _emit(session, ctx, [_event(ticket, payload, ctx, _correlation())])
    return entry


# --------------------------------------------------------------------------- center commands


async def _pending_reply(session: AsyncSession, ticket: Ticket) -> Reply:
    found = await session.scalar(
        select(Reply)
        .where(Reply.ticket_id == ticket.ticket_id, Reply.status == "pending")
        .order_by(Reply.submitted_at.desc())
        .limit(1)
    )
    if found is None:
        raise ApiError(409, "the ticket has no reply waiting for review", code="no_pending_reply")
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
    _move(ticket, Action.APPROVE if approve else Action.REJECT, ctx)
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
            raise _field_error("reason", "a rejection needs a reason code")
        entry.status, entry.review_reason = "rejected", reason
        ticket.replied_at = None  # the work is not done: the resolve clock runs on to its deadline
        payload = ReplyRejected(
            reply_id=entry.reply_id,
            unit_id=ticket.unit_id,
            reviewer_id=principal.subject,
            reason=reason,
            reason_text=reason_text,
        )
    _emit(session, ctx, [_event(ticket, payload, ctx, _correlation())])
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
        raise _field_error("unit_id", f"{unit_id!r} is not an active unit of branch {ticket.branch}")
    category = correction.category or Category(ticket.category)
    subtype = correction.subtype if correction.category or correction.subtype else ticket.subtype_enum
    if (category is Category.SERVICE_REQUEST) != (subtype is not None):
        raise _field_error("subtype", "a subtype is required for, and only for, a service_request")
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
        correlation_id=_correlation(),
    )
    _emit(session, ctx, events)
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
    _move(ticket, Action.REFUSE_RETURN, ctx, target=after_refused_return(returned_from))
    assert ticket.unit_id is not None
    ticket.returned_from = None
    ticket.dispatch_clock_from = ticket.received_at
    payload = TicketReturnRefused(unit_id=ticket.unit_id, supervisor_id=principal.subject, reason_text=reason_text)
    _emit(session, ctx, [_event(ticket, payload, ctx, _correlation())])
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
    _move(ticket, Action.CLOSE, ctx)
    ticket.closed_at, ticket.close_reason, ticket.close_text = ctx.clock.now(), "closed_by_center", reason_text
    payload = TicketClosed(reason="closed_by_center", reason_text=reason_text, closed_by=principal.subject)
    _emit(session, ctx, [_event(ticket, payload, ctx, _correlation())])
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
    _move(ticket, Action.DECIDE_EXTENSION, ctx)
    extension = await session.get(Extension, request_id)
    if extension is None or extension.ticket_id != ticket.ticket_id:
        raise ApiError(404, f"extension request {request_id} not found")
    if extension.status != "pending":
        raise ApiError(409, f"the extension request was already {extension.status}", code="already_decided")
    now = ctx.clock.now()
    extension.decided_by, extension.decided_at, extension.decision_text = principal.subject, now, reason_text
    clock = SlaClock(extension.clock)
    payload: Payload
    if grant:
        deadline = new_deadline or extension.requested_deadline
        if deadline <= extension.current_deadline:
            raise _field_error("new_deadline", "must be later than the deadline it extends")
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
    _emit(session, ctx, [_event(ticket, payload, ctx, _correlation())])
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
    _move(ticket, Action.FLAG, ctx)
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
    _emit(session, ctx, [_event(ticket, payload, ctx, _correlation())])
    return entry
