"""How dispatch shows its records: ticket summaries (in the inbox order), the ticket in full, extensions, the org."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.clocks import ticket_clocks
from services.dispatch.handlers import DispatchContext
from services.dispatch.lifecycle import allowed_actions
from services.dispatch.routing import OrgTree, describe_rule
from services.dispatch.schemas import (
    AttachmentOut,
    ClockOut,
    DivisionOut,
    ExtensionOut,
    FlagOut,
    OrgOut,
    ReplyOut,
    TicketDetail,
    TicketSummary,
    UnitOut,
)
from services.dispatch.store import AttachmentRecord, Extension, Ticket, extensions_by_ticket, ticket_records
from shared.auth import Role
from shared.policy.limits import ComplaintLevel
from shared.policy.priority import priority_score, work_order


def clocks_of(ticket: Ticket, extensions: Sequence[Extension], ctx: DispatchContext) -> list[ClockOut]:
    now = ctx.clock.now()
    return [
        ClockOut(
            clock=v.clock,
            started_at=v.started_at,
            deadline=v.deadline,
            running=v.running,
            stopped_at=v.stopped_at,
            remaining_seconds=v.remaining_seconds,
            overdue=(v.remaining_seconds is not None and v.remaining_seconds < 0)
            or (v.stopped_at is not None and v.stopped_at > v.deadline),
            provisional=v.provisional,
            extended=v.extended,
        )
        for v in ticket_clocks(ticket, now, ctx.policies, extensions=extensions)
    ]


def summary_fields(ticket: Ticket, clocks: list[ClockOut], role: Role) -> dict[str, Any]:
    running = [c.deadline for c in clocks if c.running]
    return {
        "ticket_id": ticket.ticket_id,
        "ticket_number": ticket.ticket_number,
        "branch": ticket.branch,
        "status": ticket.status,
        "version": ticket.version,
        "category": ticket.category,
        "subtype": ticket.subtype,
        "complaint_level": ticket.complaint_level,
        "unit_id": ticket.unit_id,
        "division_id": ticket.division_id,
        "district": ticket.district,
        "community": ticket.community,
        "received_at": ticket.received_at,
        "dispatched_at": ticket.dispatched_at,
        "nearest_deadline": min(running) if running else None,
        "key_customer": ticket.key_customer,
        "hazardous": ticket.hazardous,
        "urgent": ticket.urgent,
        "supervision_flagged": ticket.supervision_flagged,
        "clocks": clocks,
        "allowed_actions": [a.value for a in allowed_actions(ticket.state, role)],
    }


async def summaries(
    session: AsyncSession, ctx: DispatchContext, tickets: Sequence[Ticket], role: Role
) -> list[TicketSummary]:
    extensions = await extensions_by_ticket(session, [t.ticket_id for t in tickets])
    out = [TicketSummary(**summary_fields(t, clocks_of(t, extensions[t.ticket_id], ctx), role)) for t in tickets]
    # RULES.md §9: nearest deadline first; then priority (importance, hazard, urgency, grade); then age
    out.sort(
        key=lambda s: work_order(
            deadline=s.nearest_deadline,
            priority=priority_score(
                key_customer=s.key_customer,
                urgent=s.urgent,
                hazardous=s.hazardous,
                complaint_level=ComplaintLevel(s.complaint_level) if s.complaint_level is not None else None,
            ),
            since=s.received_at,
        )
    )
    return out


async def detail(session: AsyncSession, ctx: DispatchContext, ticket: Ticket, role: Role) -> TicketDetail:
    await session.flush()
    records = await ticket_records(session, ticket.ticket_id)
    extensions, replies, attachments, flags = records.extensions, records.replies, records.attachments, records.flags
    by_reply: dict[str, list[str]] = {}
    for a in attachments:
        if a.reply_id:
            by_reply.setdefault(a.reply_id, []).append(a.attachment_id)
    return TicketDetail(
        **summary_fields(ticket, clocks_of(ticket, extensions, ctx), role),
        description=ticket.description,
        customer_name=ticket.customer_name,
        customer_phone=ticket.customer_phone,
        customer_address=ticket.customer_address,
        channel=ticket.channel,
        handler_id=ticket.handler_id,
        dispatch_count=ticket.dispatch_count,
        dispatch_mode=ticket.dispatch_mode,
        rule_id=ticket.rule_id,
        previous_unit_id=ticket.previous_unit_id,
        queue_reason=ticket.queue_reason,
        queue_detail=ticket.queue_detail,
        return_reason=ticket.return_reason,
        return_text=ticket.return_text,
        return_count=ticket.return_count,
        returns_by_unit=ticket.returns_by_unit or {},
        close_reason=ticket.close_reason,
        close_text=ticket.close_text,
        work_round=ticket.work_round,
        replies=[
            ReplyOut(
                reply_id=r.reply_id,
                unit_id=r.unit_id,
                handler_id=r.handler_id,
                result=r.result,
                opinion=r.opinion,
                submitted_at=r.submitted_at,
                status=r.status,
                reviewer_id=r.reviewer_id,
                review_reason=r.review_reason,
                review_text=r.review_text,
                attachment_ids=by_reply.get(r.reply_id, []),
                refused=r.refused,
            )
            for r in replies
        ],
        extensions=[extension_out(e) for e in extensions],
        attachments=[attachment_out(a) for a in attachments],
        flags=[
            FlagOut(
                flag_id=f.flag_id,
                kind=f.kind,
                supervisor_id=f.supervisor_id,
                org_level=f.org_level,
                note=f.note,
                at=f.at,
            )
            for f in flags
        ],
    )


def extension_out(e: Extension) -> ExtensionOut:
    return ExtensionOut(
        request_id=e.request_id,
        ticket_id=e.ticket_id,
        unit_id=e.unit_id,
        clock=e.clock,
        current_deadline=e.current_deadline,
        requested_deadline=e.requested_deadline,
        reason_text=e.reason_text,
        status=e.status,
        new_deadline=e.new_deadline,
        decided_by=e.decided_by,
    )


def attachment_out(a: AttachmentRecord) -> AttachmentOut:
    return AttachmentOut(
        attachment_id=a.attachment_id,
        ticket_id=a.ticket_id,
        media_type=a.media_type,
        size_bytes=a.size_bytes,
        filename=a.filename,
        sha256=a.sha256,
        reply_id=a.reply_id,
    )


def org_out(org: OrgTree) -> OrgOut:
    divisions = [
        DivisionOut(
            division_id=d.division_id,
            name=d.name,
            active=d.active,
            units=[
                UnitOut(unit_id=u.unit_id, name=u.name, division_id=u.division_id, active=u.active)
                for u in org.units.values()
                if u.division_id == d.division_id
            ],
        )
        for d in org.divisions.values()
    ]
    return OrgOut(
        branch=org.branch,
        center_id=org.center_id,
        center_name=org.center_name,
        divisions=divisions,
        rules=[dict(describe_rule(r)) for r in org.rules],
    )
