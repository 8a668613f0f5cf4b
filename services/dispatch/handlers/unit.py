"""The unit's actions on a ticket it holds: accept, contact, return, ask for more time, attach, reply."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.clocks import ticket_clocks
from services.dispatch.handlers.common import (
    DispatchContext,
    emit,
    field_error,
    holding_unit,
    move,
    new_correlation,
    ticket_event,
    ticket_for,
)
from services.dispatch.lifecycle import Action, IllegalTransition, Status
from services.dispatch.store import AttachmentRecord, Extension, Reply, Ticket, extensions_of
from shared.auth import Principal
from shared.errors import Conflict, Unavailable
from shared.events import (
    Attachment,
    CustomerContacted,
    ExtensionRequested,
    TicketAccepted,
    TicketReplied,
    TicketReturned,
)
from shared.policy.categories import Category
from shared.policy.limits import UNIT_CLOCKS, SlaClock
from shared.storage import check_attachment, sha256_hex


async def accept(
    session: AsyncSession, ctx: DispatchContext, principal: Principal, ticket_id: str, expected_version: int | None
) -> Ticket:
    ticket = await ticket_for(session, principal, ticket_id, expected_version)
    unit_id = holding_unit(principal, ticket)
    move(ticket, Action.ACCEPT, ctx)
    ticket.accepted_at, ticket.handler_id = ctx.clock.now(), principal.subject
    emit(
        session,
        ctx,
        [ticket_event(ticket, TicketAccepted(unit_id=unit_id, handler_id=principal.subject), ctx, new_correlation())],
    )
    return ticket


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
    unit_id = holding_unit(principal, ticket)
    move(ticket, Action.CONTACT, ctx)
    now = ctx.clock.now()
    when = contacted_at or now
    if when > now:
        raise field_error("contacted_at", "a contact cannot be recorded in the future")
    if ticket.dispatched_at is not None and when < ticket.dispatched_at:
        raise field_error("contacted_at", "the contact is earlier than the dispatch to your unit")
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
    emit(session, ctx, [ticket_event(ticket, payload, ctx, new_correlation())])
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
    unit_id = holding_unit(principal, ticket)
    returned_from = ticket.state
    move(ticket, Action.RETURN, ctx)
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
    emit(session, ctx, [ticket_event(ticket, payload, ctx, new_correlation())])
    return ticket


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
    unit_id = holding_unit(principal, ticket)
    move(ticket, Action.REQUEST_EXTENSION, ctx)
    if clock not in UNIT_CLOCKS:
        raise field_error("clock", f"extensions apply to the unit clocks: {', '.join(c.value for c in UNIT_CLOCKS)}")
    now = ctx.clock.now()
    extensions = await extensions_of(session, ticket.ticket_id)
    views = {v.clock: v for v in ticket_clocks(ticket, now, ctx.policies, extensions=extensions, clocks=UNIT_CLOCKS)}
    view = views.get(clock)
    if view is None or not view.running:
        raise field_error("clock", f"the {clock.value} clock is not running for this ticket", Conflict)
    if now >= view.deadline:
        raise Conflict(
            f"the {clock.value} deadline {view.deadline.isoformat()} has passed: ask before it passes",
            code="deadline_passed",
            fields=[{"field": "clock", "message": "the deadline has already passed"}],
        )
    if requested_deadline <= view.deadline:
        raise field_error("requested_deadline", f"must be later than the current deadline {view.deadline.isoformat()}")
    pending = [e for e in extensions if e.clock == clock.value and e.status == "pending"]
    if pending:
        raise Conflict(
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
    emit(session, ctx, [ticket_event(ticket, payload, ctx, new_correlation())])
    return extension


def decode_base64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise field_error("content_base64", "not valid base64") from None


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
    unit_id = holding_unit(principal, ticket)
    if ticket.state is not Status.ACCEPTED:
        raise IllegalTransition(Action.REPLY, ticket.state, ticket.version)
    problem = check_attachment(data, media_type, ctx.max_attachment_bytes)
    if problem is not None:
        raise field_error(problem.field, problem.message, problem.kind)
    if ctx.storage is None:
        raise Unavailable("attachment storage is not configured")
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
    unit_id = holding_unit(principal, ticket)
    if refused and ticket.category_enum is not Category.SERVICE_REQUEST:
        # RULES.md §2: only a service request has a refusal limit
        raise field_error("refused", "only a service request can be refused")
    move(ticket, Action.REPLY, ctx)
    if len(attachment_ids) > ctx.max_attachments_per_reply:
        raise field_error("attachment_ids", f"at most {ctx.max_attachments_per_reply} attachments per reply")
    records: list[AttachmentRecord] = []
    for index, attachment_id in enumerate(dict.fromkeys(attachment_ids)):
        record = await session.get(AttachmentRecord, attachment_id)
        if record is None or record.ticket_id != ticket.ticket_id or record.unit_id != unit_id:
            raise field_error(f"attachment_ids.{index}", f"no attachment {attachment_id} of this ticket")
        if record.reply_id is not None:
            raise field_error(f"attachment_ids.{index}", f"attachment {attachment_id} belongs to an earlier reply")
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
    emit(session, ctx, [ticket_event(ticket, payload, ctx, new_correlation())])
    return entry
