"""Sending a ticket on: to a unit (with the urgent notice RULES.md §1 asks for), or to the center's manual queue."""

from __future__ import annotations

from typing import Any, Literal

import structlog
from prometheus_client import Counter

from services.dispatch.handlers.common import DispatchContext, move, ticket_event
from services.dispatch.lifecycle import Action, Status
from services.dispatch.routing import OrgTree
from services.dispatch.store import Ticket
from shared.events import (
    Event,
    ManualDispatchQueued,
    Recipient,
    TicketDispatched,
    UrgentNoticeRequested,
    deterministic_event_id,
)
from shared.policy.categories import Category
from shared.policy.limits import ComplaintLevel

log = structlog.get_logger(__name__)

MANUAL_QUEUE = Counter(
    "hotline_dispatch_manual_queue_total", "Tickets no rule could route (center's manual queue)", ["branch", "reason"]
)
DISPATCHED = Counter("hotline_dispatch_dispatched_total", "Tickets dispatched to a unit", ["branch", "mode"])


def urgent_reason(ticket: Ticket) -> Literal["alarm", "complaint_level_1"] | None:
    if ticket.category == Category.ALARM.value:
        return "alarm"
    if ticket.category == Category.COMPLAINT.value and ticket.complaint_level == ComplaintLevel.MAJOR:
        return "complaint_level_1"
    return None


def urgent_notice(ticket: Ticket, ctx: DispatchContext, org: OrgTree | None, correlation_id: str) -> list[Event[Any]]:
    """RULES.md §1, §8: an alarm or a level-1 complaint's unit is phoned at once, unless intake already did."""
    reason = urgent_reason(ticket)
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
    return [ticket_event(ticket, notice, ctx, correlation_id, event_id=event_id)]


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
    move(ticket, Action.DISPATCH, ctx)
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
    notice = urgent_notice(ticket, ctx, org, correlation_id)
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
    return [*notice, ticket_event(ticket, dispatched, ctx, correlation_id, event_id=event_id)]


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
    return [ticket_event(ticket, payload, ctx, correlation_id, event_id=event_id)]
