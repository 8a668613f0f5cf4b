"""Use cases of the outbound service: ticket events become status SMS for the ticket's own customer; opt-outs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from services.outbound.government import GovernmentReporter, reports_on, stage_reports
from services.outbound.self_service import record_steps
from services.outbound.store import (
    OptOut,
    Outbox,
    ProcessedEvent,
    SmsMessage,
    TicketContact,
    contacts_of,
    is_opted_out,
)
from services.outbound.templates import NoticeCatalog
from services.outbound.webhooks import WebhookDeliverer, active_subscriptions, stage_deliveries, subscribed_types
from shared.branch_config import BranchPolicies
from shared.clock import Clock
from shared.events import (
    CallbackAbandoned,
    CustomerContacted,
    CustomerNotified,
    Event,
    Payload,
    ReplyApproved,
    TicketDispatched,
    TicketReceived,
    new_event,
)
from shared.inbox import unseen
from shared.outbox import stage
from shared.policy.categories import Category
from shared.policy.notices import NoticeKind, appointment_text, earliest_send, render
from shared.policy.self_service import customer_step
from shared.privacy import mask_phone
from shared.sms import InvalidPhone, enqueue, mobile_number

log = structlog.get_logger(__name__)

SERVICE = "outbound"
SKIPPED = Counter("hotline_outbound_notices_skipped_total", "Status notices not sent", ["reason"])


@dataclass
class OutboundContext:
    clock: Clock
    policies: BranchPolicies
    notices: NoticeCatalog
    webhook_allow_private: bool = False
    webhooks: WebhookDeliverer | None = None  # nudged after a batch staged deliveries or a replay
    government: GovernmentReporter | None = None  # the 12345 reply loop


def _contact_from(event: Event[TicketReceived], now: datetime) -> TicketContact:
    payload = event.payload
    phone: str | None = None
    if payload.customer.phone:
        try:
            phone = mobile_number(payload.customer.phone)
        except InvalidPhone as problem:  # a landline or no number: the customer hears by phone instead
            SKIPPED.labels("no_mobile").inc()
            log.info("customer_has_no_mobile", ticket_id=event.ticket_id, reason=str(problem))
    return TicketContact(
        ticket_id=event.ticket_id,
        branch=event.branch,
        ticket_number=payload.ticket_number or str(event.ticket_id),
        category=payload.category.value,
        phone=phone,
        # RULES.md §1: an alarm (or a ticket marked urgent) is never held back by the quiet window
        urgent=payload.category is Category.ALARM or payload.urgent or payload.hazardous,
        received_at=now,
    )


def notice_kind(event: Event[Payload]) -> tuple[NoticeKind, datetime | None] | None:
    """Which customer notice an event means, with the appointment when there is one."""
    match event.payload:
        case TicketDispatched(dispatch_count=1):
            return NoticeKind.DISPATCHED, None
        case CustomerContacted(appointment_at=None):
            return NoticeKind.ON_THE_WAY, None
        case CustomerContacted(appointment_at=at):
            return NoticeKind.APPOINTMENT, at
        case ReplyApproved():
            return NoticeKind.RESOLVED, None
        case CallbackAbandoned():
            return NoticeKind.CALLBACK_MISSED, None
    return None


async def _notify(
    session: AsyncSession, event: Event[Payload], kind: NoticeKind, appointment: datetime | None, ctx: OutboundContext
) -> Event[CustomerNotified] | None:
    contact = await session.get(TicketContact, event.ticket_id)
    if contact is None or contact.phone is None:
        SKIPPED.labels("no_mobile" if contact else "unknown_ticket").inc()
        return None
    if await is_opted_out(session, contact.branch, contact.phone):
        SKIPPED.labels("opted_out").inc()
        log.info("customer_opted_out", ticket_id=contact.ticket_id, kind=kind.value)
        return None
    notices = ctx.notices.for_branch(contact.branch)
    category = Category(contact.category)
    template = notices.templates.template(category, kind)
    if template is None:
        SKIPPED.labels("no_template").inc()
        return None
    policy = ctx.policies.branch(contact.branch)
    text = render(
        template,
        ticket_number=contact.ticket_number,
        category=category,
        hotline=notices.hotline,
        appointment=appointment_text(appointment, policy.timezone) if appointment else "",
    )
    now = ctx.clock.now()
    # RULES.md §5: the quiet window holds back every notice but an urgent ticket's
    scheduled = earliest_send(now, policy.timezone, policy.quiet_window, urgent=contact.urgent)
    key = f"status:{event.event_id}"
    fresh = await enqueue(
        session,
        SmsMessage,
        key=key,
        branch=contact.branch,
        ticket_id=contact.ticket_id,
        phone=contact.phone,
        text=text,
        purpose=f"status_{kind.value}",
        now=now,
        not_before=scheduled,
        service=SERVICE,
    )
    if not fresh:
        return None
    log.info("customer_notice_queued", ticket_id=contact.ticket_id, kind=kind.value, phone=mask_phone(contact.phone))
    return new_event(
        CustomerNotified(kind=kind, text=text, scheduled_for=scheduled, message_key=key),
        ticket_id=contact.ticket_id,
        branch=contact.branch,
        producer=SERVICE,
        correlation_id=str(event.event_id),
        occurred_at=now,
    )


def acts_on(event: Event[Payload], subscribed: set[tuple[str, str]]) -> bool:
    """Whether the worker may change anything for `event`: a webhook some subscription wants, or for a ticket its
    contact, a status notice, a 12345 report or a step of the customer's page."""
    if (event.branch, event.type) in subscribed:
        return True
    if event.ticket_id is None:
        return False
    return notice_kind(event) is not None or reports_on(event.payload) or customer_step(event.type) is not None


async def handle_ticket_events(
    session: AsyncSession, events: Sequence[Event[Payload]], ctx: OutboundContext
) -> list[Event[Any]]:
    """One batch in the caller's transaction: contacts, queued SMS and their history events, once per event id."""
    now = ctx.clock.now()
    subscriptions = await active_subscriptions(session, {e.branch for e in events})
    subscribed = subscribed_types(subscriptions)
    # An event this worker does nothing with changes nothing when it comes again: no inbox row for it (issue 24;
    # about a third of the topic: ManualDispatchQueued, ComplaintGraded, its own CustomerNotified ...).
    events = [e for e in events if acts_on(e, subscribed)]
    fresh = await unseen(session, ProcessedEvent, [(e.event_id, e.type) for e in events], now)
    # one SELECT for the contacts of the whole batch: the per-event session.get() calls below and in record_steps
    # then hit the identity map (a batch held ~30 events, each one or two look-ups of its contact; issue 24)
    known = await contacts_of(session, {e.ticket_id for e in events if e.event_id in fresh and e.ticket_id})
    await stage_deliveries(session, [e for e in events if e.event_id in fresh], now, subscriptions)
    await stage_reports(session, [e for e in events if e.event_id in fresh], now)
    emitted: list[Event[Any]] = []
    for event in events:
        if event.event_id not in fresh or event.ticket_id is None:
            continue
        if isinstance(event.payload, TicketReceived):
            if await session.get(TicketContact, event.ticket_id) is None:
                session.add(_contact_from(event, now))  # type: ignore[arg-type]
                await session.flush()
            continue
        found = notice_kind(event)
        if found is not None:
            notified = await _notify(session, event, found[0], found[1], ctx)
            if notified is not None:
                emitted.append(notified)
    # what the customer sees on the self-service page (issue 21 part 3)
    await record_steps(session, [e for e in events if e.event_id in fresh])
    stage(session, Outbox, emitted, ctx.clock)
    del known  # held until here: the session's identity map keeps only weak references
    return emitted


async def set_opt_out(session: AsyncSession, branch: str, phone: str, opted_out: bool, by: str, now: datetime) -> bool:
    """Record (or lift) a customer's opt-out; returns whether the customer is now opted out."""
    row = await session.get(OptOut, (branch, phone))
    if opted_out and row is None:
        session.add(OptOut(branch=branch, phone=phone, recorded_at=now, recorded_by=by))
    elif not opted_out and row is not None:
        await session.delete(row)
    return opted_out
