"""Ticket events consumed by the callback worker: the facts kept per ticket and the callbacks owed."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.callback import store
from services.callback.handlers.common import (
    MissingTicketFacts,
    Policies,
    _event,
)
from services.callback.scheduling import (
    CallbackPlan,
    NoCallbackOwed,
    plan_callback,
    priority_of,
)
from services.callback.store import CallbackTask, Outbox, ProcessedEvent, TicketFacts
from shared.clock import Clock
from shared.events import (
    CallbackScheduled,
    ComplaintGraded,
    Event,
    Payload,
    ReplyApproved,
    TicketClosed,
    TicketDispatched,
    TicketReceived,
    TicketReopened,
    TicketReplied,
    TicketResolvedOnFirstContact,
)
from shared.inbox import unseen
from shared.outbox import stage
from shared.policy.categories import Category
from shared.policy.limits import ComplaintLevel

# --------------------------------------------------------------------------- ticket events (worker)

EventHandler = Callable[[Event[Any], AsyncSession, datetime, Policies], Awaitable[list[Event[Any]]]]


FACTS_OF_BATCH = "callback_ticket_facts"  # session.info key: the batch's facts by ticket id, loaded in one query


async def _facts(session: AsyncSession, event: Event[Any], now: datetime) -> TicketFacts:
    assert event.ticket_id is not None
    batch: dict[str, TicketFacts] | None = session.info.get(FACTS_OF_BATCH)
    facts = batch.get(event.ticket_id) if batch is not None else await session.get(TicketFacts, event.ticket_id)
    if facts is None:
        facts = TicketFacts(ticket_id=event.ticket_id, branch=event.branch, description="", reply_text="")
        session.add(facts)
        if batch is not None:
            batch[event.ticket_id] = facts
    facts.updated_at = now
    return facts


async def note_ticket_received(
    event: Event[TicketReceived], session: AsyncSession, now: datetime, _: Policies
) -> list[Event[Any]]:
    received = event.payload
    facts = await _facts(session, event, now)
    facts.ticket_number = received.ticket_number
    facts.category = received.category.value
    facts.description = received.description
    facts.customer_id = received.customer.customer_id
    facts.customer_name = received.customer.name
    facts.customer_phone = received.customer.phone
    facts.key_customer = received.customer.key_customer
    facts.callback_mode = received.callback.mode
    facts.callback_requested_at = received.callback.requested_at
    facts.urgent, facts.hazardous = received.urgent, received.hazardous
    facts.owner_agent_id = received.owner_agent_id
    if received.complaint is not None:
        facts.complaint_level = _most_severe(facts.complaint_level, received.complaint.level)
    if received.unit_id and facts.unit_id is None:
        facts.unit_id = received.unit_id
    return []


def _most_severe(current: int | None, level: ComplaintLevel | None) -> int | None:
    # level 1 is the most severe, and a grade only goes up (RULES.md §4)
    if level is None:
        return current
    return int(level) if current is None else min(current, int(level))


async def note_ticket_dispatched(
    event: Event[TicketDispatched], session: AsyncSession, now: datetime, _: Policies
) -> list[Event[Any]]:
    facts = await _facts(session, event, now)
    facts.unit_id, facts.division_id = event.payload.unit_id, event.payload.division_id
    facts.category = event.payload.category.value  # as dispatched: a correction may have changed it
    facts.complaint_level = _most_severe(facts.complaint_level, event.payload.complaint_level)
    return []


async def note_complaint_graded(
    event: Event[ComplaintGraded], session: AsyncSession, now: datetime, _: Policies
) -> list[Event[Any]]:
    facts = await _facts(session, event, now)
    facts.complaint_level = _most_severe(facts.complaint_level, event.payload.level)
    return []


async def note_ticket_replied(
    event: Event[TicketReplied], session: AsyncSession, now: datetime, _: Policies
) -> list[Event[Any]]:
    facts = await _facts(session, event, now)
    reply = event.payload
    facts.reply_id = reply.reply_id
    facts.reply_text = reply.result if not reply.opinion else f"{reply.result}\n\n{reply.opinion}"
    facts.unit_id = reply.unit_id
    return []


async def schedule_callback_for_approved_reply(
    event: Event[ReplyApproved], session: AsyncSession, now: datetime, policies: Policies
) -> list[Event[Any]]:
    """The trigger: the center approved the unit's reply, so the callback is owed (or the ticket closes)."""
    approved = event.payload
    assert event.ticket_id is not None
    batch: dict[str, TicketFacts] | None = session.info.get(FACTS_OF_BATCH)
    facts = batch.get(event.ticket_id) if batch is not None else await session.get(TicketFacts, event.ticket_id)
    if facts is None or facts.category is None:
        raise MissingTicketFacts(f"reply {approved.reply_id} approved for unknown ticket {event.ticket_id}")
    if facts.closed:
        return []
    existing = await session.scalar(
        select(CallbackTask.id).where(
            CallbackTask.ticket_id == event.ticket_id, CallbackTask.reply_id == approved.reply_id
        )
    )
    if existing is not None:
        return []
    for stale in await store.open_tasks_of(session, event.ticket_id):
        stale.status = "cancelled"  # a newer approved reply replaces an unworked callback
        stale.version += 1
    category = Category(facts.category)
    policy = policies.branch(event.branch)
    plan = plan_callback(
        category=category,
        preference=facts.callback_mode,  # type: ignore[arg-type]
        requested_at=facts.callback_requested_at,
        reply_received_at=approved.reply_received_at,
        branch=policy,
        calendar=policies.calendar,
    )
    cause = str(event.event_id)
    if isinstance(plan, NoCallbackOwed):
        facts.closed, facts.closed_reason = True, "no_callback_owed"
        closed = TicketClosed(reason="no_callback_owed", reason_text=plan.reason_text)
        return [_event(closed, ticket_id=event.ticket_id, branch=event.branch, cause=cause, at=now, key=[cause])]
    task = _new_task(event, facts, plan, await store.rounds_of(session, event.ticket_id) + 1, now)
    session.add(task)
    scheduled = CallbackScheduled(
        callback_id=task.id,
        kind=plan.kind,
        due_at=plan.due_at,
        scheduled_for=plan.scheduled_for,
        attempt_number=1,
        reason=plan.reason,
    )
    return [_event(scheduled, ticket_id=event.ticket_id, branch=event.branch, cause=cause, at=now, key=[task.id, 1])]


def _new_task(
    event: Event[ReplyApproved], facts: TicketFacts, plan: CallbackPlan, round_: int, now: datetime
) -> CallbackTask:
    approved = event.payload
    assert event.ticket_id is not None
    callback_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"hotline-callback:{event.ticket_id}:{approved.reply_id}"))
    level = ComplaintLevel(facts.complaint_level) if facts.complaint_level is not None else None
    return CallbackTask(
        id=callback_id,
        ticket_id=event.ticket_id,
        branch=event.branch,
        reply_id=approved.reply_id,
        round=round_,
        kind=plan.kind.value,
        category=facts.category,
        unit_id=approved.unit_id,
        division_id=facts.division_id,
        status="scheduled",
        due_at=plan.due_at,
        provisional=plan.provisional,
        scheduled_for=plan.scheduled_for,
        schedule_reason=plan.reason,
        priority=priority_of(
            key_customer=facts.key_customer, urgent=facts.urgent, hazardous=facts.hazardous, complaint_level=level
        ),
        attempts_made=0,
        failed_attempts=0,
        version=1,
        reply_text=facts.reply_text,
        comment="",
        outcome_text="",
        created_at=now,
    )


async def note_ticket_closed(
    event: Event[TicketClosed], session: AsyncSession, now: datetime, _: Policies
) -> list[Event[Any]]:
    facts = await _facts(session, event, now)
    facts.closed, facts.closed_reason = True, event.payload.reason
    assert event.ticket_id is not None
    for task in await store.open_tasks_of(session, event.ticket_id):
        task.status = "cancelled"  # closed elsewhere (by the center): nothing left to call about
        task.finished_at = now
        task.version += 1
    return []


async def note_ticket_reopened(
    event: Event[TicketReopened], session: AsyncSession, now: datetime, _: Policies
) -> list[Event[Any]]:
    facts = await _facts(session, event, now)
    facts.closed, facts.closed_reason = False, None
    facts.unit_id = event.payload.unit_id
    return []


async def note_resolved_on_first_contact(
    event: Event[TicketResolvedOnFirstContact], session: AsyncSession, now: datetime, _: Policies
) -> list[Event[Any]]:
    facts = await _facts(session, event, now)
    facts.closed, facts.closed_reason = True, "resolved_on_first_contact"
    return []


EVENT_HANDLERS: dict[type[Payload], EventHandler] = {
    TicketReceived: note_ticket_received,
    TicketDispatched: note_ticket_dispatched,
    ComplaintGraded: note_complaint_graded,
    TicketReplied: note_ticket_replied,
    ReplyApproved: schedule_callback_for_approved_reply,
    TicketReopened: note_ticket_reopened,
    TicketClosed: note_ticket_closed,
    TicketResolvedOnFirstContact: note_resolved_on_first_contact,
}


async def handle_ticket_events(
    session: AsyncSession, events: Sequence[Event[Payload]], clock: Clock, policies: Policies
) -> list[Event[Any]]:
    """One consumed batch in the caller's transaction: each new event once, emitted events staged."""
    now = clock.now()
    wanted = [e for e in events if type(e.payload) in EVENT_HANDLERS and e.ticket_id is not None]
    fresh = await unseen(session, ProcessedEvent, [(e.event_id, e.type) for e in wanted], now)
    # one SELECT for the facts of every ticket in the batch (the handlers then need no query of their
    # own for them), and one flush at commit instead of one per event: the round trips bound the rate
    ids = {str(e.ticket_id) for e in wanted if e.event_id in fresh}
    found: Iterable[TicketFacts] = (
        await session.scalars(select(TicketFacts).where(TicketFacts.ticket_id.in_(ids))) if ids else ()
    )
    session.info[FACTS_OF_BATCH] = {facts.ticket_id: facts for facts in found}
    emitted: list[Event[Any]] = []
    try:
        for event in wanted:
            if event.event_id in fresh:
                fresh.discard(event.event_id)  # a twin inside the same batch is acted on once
                emitted.extend(await EVENT_HANDLERS[type(event.payload)](event, session, now, policies))
    finally:
        session.info.pop(FACTS_OF_BATCH, None)
    stage(session, Outbox, emitted, clock)
    return emitted
