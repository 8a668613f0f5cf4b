"""Agent commands from the callback desk: claim, release, record an outcome, raise a new request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from services.callback import store
from services.callback.handlers.common import (
    Conflict,
    NotFound,
    Policies,
    _event,
)
from services.callback.scheduling import (
    Abandon,
    Complete,
    Outcome,
    OutcomeError,
    Reopen,
    Reschedule,
    check_answers,
    decide_outcome,
)
from services.callback.store import CallbackAttempt, CallbackTask, NewTicketRequest, Outbox, TicketFacts
from shared.clock import Clock
from shared.events import (
    CallbackAbandoned,
    CallbackAttempted,
    CallbackCompleted,
    CallbackScheduled,
    Event,
    Payload,
    TicketClosed,
    TicketReopened,
)
from shared.outbox import stage
from shared.policy.categories import Category, Subtype
from shared.policy.limits import CallbackKind
from shared.policy.survey import AnswerError, SurveyQuestions, checked_answers

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
    answers: dict[str, int] = field(default_factory=dict)  # issue 18: survey question id -> answer


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


def _survey_answers(task: CallbackTask, command: RecordOutcome, survey: SurveyQuestions) -> dict[str, int]:
    """The branch's extra survey questions answered on a reached survey (RULES.md §7), checked against them."""
    if not command.answers:
        return {}
    if task.kind != CallbackKind.SURVEY.value or command.outcome is not Outcome.REACHED:
        raise OutcomeError("answers", "survey answers are recorded only on a survey whose outcome is 'reached'")
    try:
        return checked_answers(survey, Category(task.category), command.answers)
    except AnswerError as error:
        raise OutcomeError(error.field, str(error)) from None


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
    answers = _survey_answers(task, command, policy.survey)
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
            answers=answers,
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
