"""Use cases of the callback service: ticket events in, agent commands in, callback and closing events out."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.callback import store
from services.callback.scheduling import (
    Abandon,
    CallbackPlan,
    Complete,
    NoCallbackOwed,
    Outcome,
    OutcomeError,
    Reopen,
    Reschedule,
    check_answers,
    decide_outcome,
    plan_callback,
    priority_of,
)
from services.callback.store import CallbackAttempt, CallbackTask, NewTicketRequest, Outbox, ProcessedEvent, TicketFacts
from shared.branch_config import BranchPolicies
from shared.clock import Clock
from shared.events import (
    CallbackAbandoned,
    CallbackAttempted,
    CallbackCompleted,
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
    deterministic_event_id,
    new_event,
)
from shared.inbox import unseen
from shared.outbox import stage
from shared.policy.categories import Category, Subtype
from shared.policy.limits import CallbackKind, ComplaintLevel

PRODUCER = "callback"


class MissingTicketFacts(RuntimeError):
    """A reply was approved for a ticket whose receipt or dispatch this service never saw."""


class NotFound(LookupError):
    """No such callback in the caller's branch."""


class Conflict(RuntimeError):
    """The callback is not in a state that allows the command (claimed by another agent, not due...)."""


class Policies(BranchPolicies):
    """Branch policies, loaded once per branch, and the national working-day calendar."""

    @classmethod
    def load(cls) -> Policies:
        return cls()

    def quiet_now(self, code: str, now: datetime) -> bool:
        policy = self.branch(code)
        return policy.quiet_window.contains(now, policy.timezone)


def _event(
    payload: Payload, *, ticket_id: str, branch: str, cause: str, at: datetime, key: Sequence[Any]
) -> Event[Any]:
    # deterministic ids: a retried handler or command emits the same event, which consumers drop
    return new_event(
        payload,
        ticket_id=ticket_id,
        branch=branch,
        producer=PRODUCER,
        correlation_id=cause,
        occurred_at=at,
        event_id=deterministic_event_id(PRODUCER, payload.event_type, *key),
    )


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


# --------------------------------------------------------------------------- agent commands (API)


@dataclass(frozen=True)
class NewRequest:
    """A new request the customer raised on the callback; intake makes it a ticket."""

    category: Category
    description: str
    subtype: Subtype | None = None
    callback_mode: Literal["required", "declined"] = "required"
    # where the work is: intake needs it for alarms, repairs and service requests (RULES.md §1)
    address: str | None = None
    district: str | None = None


@dataclass(frozen=True)
class RecordOutcome:
    callback_id: str
    outcome: Outcome
    problem_solved: bool | None = None
    satisfaction: int | None = None
    comment: str = ""
    customer_account: str = ""
    call_back_at: datetime | None = None
    new_request: NewRequest | None = None


async def task_in_branch(session: AsyncSession, callback_id: str, branch: str) -> CallbackTask:
    task = await session.get(CallbackTask, callback_id, populate_existing=True)
    if task is None or task.branch != branch:
        raise NotFound(f"callback {callback_id} not found")
    return task


async def claim_callback(
    session: AsyncSession,
    *,
    callback_id: str,
    agent_id: str,
    branch: str,
    now: datetime,
    lease: timedelta,
    policies: Policies,
) -> CallbackTask:
    """Give the callback to this agent, or say why not; exactly one of two concurrent claimers wins."""
    await task_in_branch(session, callback_id, branch)
    quiet = policies.quiet_now(branch, now)
    won = await store.claim(session, callback_id=callback_id, agent_id=agent_id, now=now, lease=lease, quiet_now=quiet)
    task = await task_in_branch(session, callback_id, branch)
    if won:
        return task
    if task.status != "scheduled":
        raise Conflict(f"callback {callback_id} is {task.status}")
    if task.scheduled_for > now:
        raise Conflict(f"callback {callback_id} is not due before {task.scheduled_for.isoformat()}")
    if quiet and task.schedule_reason != "customer_requested":
        raise Conflict("no callback in the quiet window unless the customer asked for that time (RULES.md §5)")
    raise Conflict(f"callback {callback_id} is being worked by another agent")


async def release_callback(session: AsyncSession, *, callback_id: str, agent_id: str, branch: str) -> CallbackTask:
    """Hand a claimed callback back to the queue without an attempt."""
    task = await task_in_branch(session, callback_id, branch)
    if task.status != "scheduled" or task.claimed_by != agent_id:
        raise Conflict(f"callback {callback_id} is not claimed by you")
    if not await store.bump_version(session, task, {"claimed_by": None, "claimed_at": None, "claim_expires_at": None}):
        raise Conflict(f"callback {callback_id} changed meanwhile; reload it")
    return await task_in_branch(session, callback_id, branch)


def _attempt_outcome(outcome: Outcome) -> Any:
    failure = outcome.failure
    if failure is not None:
        return failure
    return "asked_another_time" if outcome is Outcome.ASKED_ANOTHER_TIME else "reached"


def _check_command(task: CallbackTask, command: RecordOutcome) -> None:
    check_answers(
        CallbackKind(task.kind),
        command.outcome,
        problem_solved=command.problem_solved,
        satisfaction=command.satisfaction,
    )
    if command.outcome is Outcome.REPLY_MISMATCH and not command.customer_account.strip():
        raise OutcomeError("customer_account", "write what the customer said: it goes back to the unit")
    if command.new_request is not None and command.outcome is not Outcome.REACHED:
        raise OutcomeError("new_request", "a new request is taken when the customer was reached")
    if command.call_back_at is not None and command.outcome is not Outcome.ASKED_ANOTHER_TIME:
        raise OutcomeError("call_back_at", "a time to call back goes only with 'asked_another_time'")


async def record_outcome(
    session: AsyncSession,
    command: RecordOutcome,
    *,
    agent_id: str,
    branch: str,
    now: datetime,
    clock: Clock,
    policies: Policies,
) -> tuple[CallbackTask, list[Event[Any]]]:
    """Record one call's outcome: the attempt row, the task's next state and its events, in one transaction."""
    task = await task_in_branch(session, command.callback_id, branch)
    if task.status != "scheduled":
        raise Conflict(f"callback {task.id} is {task.status}")
    if task.claimed_by != agent_id:
        raise Conflict(f"claim callback {task.id} before recording a call")
    _check_command(task, command)
    policy = policies.branch(branch)
    decision = decide_outcome(
        command.outcome,
        attempted_at=now,
        failed_before=task.failed_attempts,
        customer_time=command.call_back_at,
        branch=policy,
    )
    number = task.attempts_made + 1
    failed = task.failed_attempts + (1 if command.outcome.failure is not None else 0)
    session.add(
        CallbackAttempt(
            callback_id=task.id,
            attempt_number=number,
            agent_id=agent_id,
            outcome=command.outcome.value,
            scheduled_for=task.scheduled_for,
            attempted_at=now,
            note=command.comment if command.outcome is not Outcome.REPLY_MISMATCH else command.customer_account,
        )
    )
    values: dict[str, Any] = {
        "attempts_made": number,
        "failed_attempts": failed,
        "first_attempt_at": task.first_attempt_at or now,
        "claimed_by": None,
        "claimed_at": None,
        "claim_expires_at": None,
    }

    def emit(payload: Payload, *key: Any) -> Event[Any]:
        return _event(payload, ticket_id=task.ticket_id, branch=branch, cause=task.id, at=now, key=[task.id, *key])

    attempted = CallbackAttempted(
        callback_id=task.id, attempt_number=number, agent_id=agent_id, outcome=_attempt_outcome(command.outcome)
    )
    events = [emit(attempted, number)]
    facts = await session.get(TicketFacts, task.ticket_id)
    if isinstance(decision, Complete):
        values.update(
            status="completed",
            problem_solved=command.problem_solved,
            satisfaction=command.satisfaction,
            comment=command.comment,
            finished_by=agent_id,
            finished_at=now,
        )
        completed = CallbackCompleted(
            callback_id=task.id,
            kind=CallbackKind(task.kind),
            agent_id=agent_id,
            unit_id=task.unit_id,
            division_id=task.division_id or "unknown",
            category=Category(task.category),
            problem_solved=command.problem_solved,
            satisfaction=command.satisfaction,
            comment=command.comment[:2000],
        )
        closed = TicketClosed(reason="callback_completed", reason_text="callback completed", closed_by=agent_id)
        events += [emit(completed), emit(closed)]
        if facts is not None:
            facts.closed, facts.closed_reason = True, "callback_completed"
        if command.new_request is not None:
            # RULES.md §5: the original is finished first; the new ticket follows through intake
            session.add(_new_ticket_request(task, facts, command.new_request, now))
    elif isinstance(decision, Reopen):
        values.update(status="reopened", outcome_text=command.customer_account, finished_by=agent_id, finished_at=now)
        reopened = TicketReopened(
            unit_id=task.unit_id,
            reason="reply_does_not_match_facts",
            customer_account=command.customer_account,
            callback_id=task.id,
            agent_id=agent_id,
        )
        events.append(emit(reopened))
    elif isinstance(decision, Reschedule):
        values.update(scheduled_for=decision.at, schedule_reason=decision.reason)
        scheduled = CallbackScheduled(
            callback_id=task.id,
            kind=CallbackKind(task.kind),
            due_at=task.due_at,
            scheduled_for=decision.at,
            attempt_number=number + 1,
            reason=decision.reason,
        )
        events.append(emit(scheduled, number + 1))
    elif isinstance(decision, Abandon):
        values.update(status="abandoned", outcome_text=decision.reason_text, finished_by=agent_id, finished_at=now)
        abandoned = CallbackAbandoned(
            callback_id=task.id,
            attempts=number,
            last_outcome=decision.last_failure,
            reason_text=decision.reason_text,
        )
        closed = TicketClosed(reason="callback_abandoned", reason_text=decision.reason_text, closed_by=agent_id)
        events += [emit(abandoned), emit(closed)]
        if facts is not None:
            facts.closed, facts.closed_reason = True, "callback_abandoned"
    if not await store.bump_version(session, task, values):
        raise Conflict(f"callback {task.id} changed meanwhile; reload it")
    stage(session, Outbox, events, clock)
    return await task_in_branch(session, task.id, branch), events


def _new_ticket_request(
    task: CallbackTask, facts: TicketFacts | None, request: NewRequest, now: datetime
) -> NewTicketRequest:
    customer: dict[str, Any] = {}
    if facts is not None:
        customer = {"customer_id": facts.customer_id, "name": facts.customer_name, "phone": facts.customer_phone}
    if request.address is not None:
        customer["address"] = request.address
    body: dict[str, Any] = {
        "channel": "phone",
        "category": request.category.value,
        "description": request.description,
        "customer": {k: v for k, v in customer.items() if v is not None},
        "callback": {"mode": request.callback_mode},
        "parent_ticket_id": task.ticket_id,
    }
    if request.subtype is not None:
        body["subtype"] = request.subtype.value
    if request.district is not None:
        body["location"] = {"district": request.district}
    return NewTicketRequest(
        # the same outcome recorded again (its commit failed after intake took it) has the same
        # id, sent as Idempotency-Key: intake makes one ticket of both
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"hotline-callback:{task.id}:{task.version}")),
        parent_ticket_id=task.ticket_id,
        callback_id=task.id,
        branch=task.branch,
        body=body,
        status="pending",
        tries=0,
        next_try_at=now,
        created_at=now,
    )
