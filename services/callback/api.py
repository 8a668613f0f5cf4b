"""The callback API: the agents' queue, claim, outcome and reveal; satisfaction results for reporting."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.callback import store
from services.callback.handlers import (
    NewRequest,
    Policies,
    RecordOutcome,
    claim_callback,
    record_outcome,
    release_callback,
    task_in_branch,
)
from services.callback.new_tickets import IntakeForwarder
from services.callback.schemas import (
    AttemptPublic,
    CallbackDetail,
    CallbackPublic,
    NewRequestPublic,
    NewTicketPublic,
    OutcomeIn,
    OutcomeResult,
    QueuePage,
    SatisfactionReport,
    SatisfactionRow,
)
from services.callback.store import CallbackTask, TicketFacts
from shared.auth import (
    Principal,
    Role,
    SecureRouter,
    TicketRef,
    audit_router,
    ensure_branch,
    require_roles,
)
from shared.auth.reveal import Revealable, add_reveal_route
from shared.errors import Invalid
from shared.http.deps import RequestClock, Session, branch_policies, db_session
from shared.http.policies import policies_reload_router
from shared.http.ratelimit import rate_limited
from shared.http.types import Instant
from shared.privacy import PersonalField

# --------------------------------------------------------------------------- dependencies


Db = Session
ClockDep = RequestClock
PoliciesDep = Annotated[Policies, Depends(branch_policies)]  # callback's BranchPolicies, with quiet_now
CallbackAgent = Annotated[Principal, require_roles(Role.AGENT, Role.CENTER_SUPERVISOR)]
Reporter = Annotated[
    Principal,
    require_roles(Role.CENTER_SUPERVISOR, Role.DIVISION_SUPERVISOR, Role.UNIT_HANDLER, Role.ADMIN, Role.INTEGRATION),
]


def _committed(request: Request) -> None:
    # in a process that runs the relay too, send the new outbox rows without waiting for its poll
    relay = getattr(request.app.state, "relay", None)
    if relay is not None:
        relay.notify()


# --------------------------------------------------------------------------- builders


def _public(task: CallbackTask, facts: TicketFacts | None, policies: Policies) -> dict[str, Any]:
    tz = policies.branch(task.branch).timezone

    def local(instant: datetime | None) -> datetime | None:
        return instant.astimezone(tz) if instant is not None else None

    return {
        "callback_id": task.id,
        "ticket_id": task.ticket_id,
        "ticket_number": facts.ticket_number if facts else None,
        "round": task.round,
        "kind": task.kind,
        "category": task.category,
        "status": task.status,
        "unit_id": task.unit_id,
        "division_id": task.division_id,
        "due_at": local(task.due_at),
        "provisional": task.provisional,
        "scheduled_for": local(task.scheduled_for),
        "schedule_reason": task.schedule_reason,
        "next_attempt_number": task.attempts_made + 1,
        "failed_attempts": task.failed_attempts,
        "priority": task.priority,
        "reply_text": task.reply_text,
        "customer_name": facts.customer_name if facts else None,
        "customer_phone": facts.customer_phone if facts else None,
        "claimed_by": task.claimed_by,
        "claim_expires_at": local(task.claim_expires_at),
        "problem_solved": task.problem_solved,
        "satisfaction": task.satisfaction,
        "comment": task.comment,
        "outcome_text": task.outcome_text,
        "finished_at": local(task.finished_at),
    }


async def _detail(db: AsyncSession, task: CallbackTask, policies: Policies) -> CallbackDetail:
    facts = await db.get(TicketFacts, task.ticket_id)
    tz = policies.branch(task.branch).timezone
    attempts = [
        AttemptPublic(
            attempt_number=a.attempt_number,
            agent_id=a.agent_id,
            outcome=a.outcome,
            scheduled_for=a.scheduled_for.astimezone(tz),
            attempted_at=a.attempted_at.astimezone(tz),
            note=a.note,
        )
        for a in await store.attempts_of(db, task.id)
    ]
    requests = [NewTicketPublic(**_request_fields(r)) for r in await store.new_requests_of(db, task.id)]
    return CallbackDetail(**_public(task, facts, policies), attempts=attempts, new_tickets=requests)


# --------------------------------------------------------------------------- routes

router = SecureRouter(prefix="/api/v1", tags=["callbacks"])


@router.get("/callbacks/due", response_model=QueuePage)
async def list_due_callbacks(
    principal: CallbackAgent,
    db: Db,
    clock: ClockDep,
    policies: PoliciesDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    include_later: bool = False,
) -> QueuePage:
    """Callbacks that may be called now, earliest deadline first, then priority; with `include_later`,
    also those scheduled but not allowed yet (their `scheduled_for` says from when)."""
    now = clock.now()
    quiet = policies.quiet_now(principal.branch, now)
    rows = await store.due_callbacks(
        db, branch=principal.branch, now=now, quiet_now=quiet, limit=limit, later=include_later
    )
    items = [CallbackPublic(**_public(task, facts, policies)) for task, facts in rows]
    return QueuePage(now=now.astimezone(policies.branch(principal.branch).timezone), quiet_window=quiet, items=items)


@router.get("/callbacks", response_model=list[CallbackPublic])
async def list_callbacks_of_ticket(
    principal: CallbackAgent,
    db: Db,
    policies: PoliciesDep,
    ticket_id: Annotated[str, Query(min_length=1, max_length=128)],
) -> list[CallbackPublic]:
    """Every callback of one ticket, oldest round first."""
    rows = await db.execute(
        select(CallbackTask, TicketFacts)
        .outerjoin(TicketFacts, TicketFacts.ticket_id == CallbackTask.ticket_id)
        .where(CallbackTask.ticket_id == ticket_id, CallbackTask.branch == principal.branch)
        .order_by(CallbackTask.round)
    )
    return [CallbackPublic(**_public(task, facts, policies)) for task, facts in rows.all()]


@router.get("/callbacks/{callback_id}", response_model=CallbackDetail)
async def read_callback(callback_id: str, principal: CallbackAgent, db: Db, policies: PoliciesDep) -> CallbackDetail:
    task = await task_in_branch(db, callback_id, principal.branch)
    return await _detail(db, task, policies)


@router.post("/callbacks/{callback_id}/claim", response_model=CallbackDetail)
async def claim(
    callback_id: str, principal: CallbackAgent, db: Db, clock: ClockDep, policies: PoliciesDep, request: Request
) -> CallbackDetail:
    """Take a due callback; of two agents claiming at once exactly one gets it, the other a 409."""
    lease = timedelta(minutes=request.app.state.callback_settings.claim_minutes)
    async with db.begin():
        task = await claim_callback(
            db,
            callback_id=callback_id,
            agent_id=principal.subject,
            branch=principal.branch,
            now=clock.now(),
            lease=lease,
            policies=policies,
        )
    return await _detail(db, task, policies)


@router.post("/callbacks/{callback_id}/release", response_model=CallbackDetail)
async def release(callback_id: str, principal: CallbackAgent, db: Db, policies: PoliciesDep) -> CallbackDetail:
    """Give a claimed callback back to the queue without calling."""
    async with db.begin():
        task = await release_callback(db, callback_id=callback_id, agent_id=principal.subject, branch=principal.branch)
    return await _detail(db, task, policies)


def _intake_field(field: str) -> str:
    # intake's `body.customer.address` is the desk's `body.new_request.address`
    name = field.removeprefix("body.").removeprefix("customer.").removeprefix("location.")
    return f"body.new_request.{name}" if name and name != "body" else "body.new_request"


async def _new_tickets_on_the_call(db: AsyncSession, request: Request, task: CallbackTask) -> None:
    """Hand a new request to intake while the agent is on the call; its refusal undoes the outcome.

    RULES.md §5: a new request raised on the callback becomes a new ticket. When intake refuses
    it as written, the agent gets intake's field errors and records the outcome again, corrected;
    an unreachable intake leaves it pending for the forwarder. Nothing is dropped either way.
    """
    forwarder: IntakeForwarder | None = getattr(request.app.state, "forwarder", None)
    if forwarder is None:
        return
    fresh = [r for r in await store.new_requests_of(db, task.id) if r.status == "pending" and r.tries == 0]
    for row in fresh:
        refusal = await forwarder.submit_now(row)
        if refusal is not None:
            fields = [{"field": _intake_field(f["field"]), "message": f["message"]} for f in refusal.fields]
            raise Invalid(
                f"intake refused the new request: {refusal.message}; nothing was recorded",
                code="new_request_refused",
                fields=fields or [{"field": "body.new_request", "message": refusal.message}],
            )


def _request_fields(r: store.NewTicketRequest) -> dict[str, Any]:
    return {
        "request_id": r.id,
        "status": r.status,
        "created_ticket_id": r.created_ticket_id,
        "tries": r.tries,
        "last_error": r.last_error,
    }


@router.get("/new-requests", response_model=list[NewRequestPublic])
async def list_new_requests(
    principal: CallbackAgent,
    db: Db,
    status: Literal["pending", "created", "rejected"] = "rejected",
) -> list[NewRequestPublic]:
    """New requests of the branch by status; `rejected` ones (intake refused them later) need a person."""
    return [
        NewRequestPublic(
            **_request_fields(r),
            callback_id=r.callback_id,
            parent_ticket_id=r.parent_ticket_id,
            created_at=r.created_at,
        )
        for r in await store.new_requests_in(db, principal.branch, status)
    ]


@router.post("/callbacks/{callback_id}/outcome", response_model=OutcomeResult)
async def record_call_outcome(
    callback_id: str,
    body: OutcomeIn,
    principal: CallbackAgent,
    db: Db,
    clock: ClockDep,
    policies: PoliciesDep,
    request: Request,
) -> OutcomeResult:
    """Record the call: completed and closed, reopened, rescheduled, retried, or abandoned and closed."""
    new_request = None
    if body.new_request is not None:
        new_request = NewRequest(
            category=body.new_request.category,
            subtype=body.new_request.subtype,
            description=body.new_request.description,
            callback_mode=body.new_request.callback_mode,
            address=body.new_request.address,
            district=body.new_request.district,
        )
    command = RecordOutcome(
        callback_id=callback_id,
        outcome=body.outcome,
        problem_solved=body.problem_solved,
        satisfaction=body.satisfaction,
        comment=body.comment,
        customer_account=body.customer_account,
        call_back_at=body.call_back_at,
        new_request=new_request,
        answers=dict(body.answers),
    )
    async with db.begin():
        task, events = await record_outcome(
            db,
            command,
            agent_id=principal.subject,
            branch=principal.branch,
            now=clock.now(),
            clock=clock,
            policies=policies,
        )
        await _new_tickets_on_the_call(db, request, task)
    _committed(request)
    return OutcomeResult(callback=await _detail(db, task, policies), events=[e.type for e in events])


async def _revealable(db: AsyncSession, principal: Principal, callback_id: str, now: datetime) -> Revealable:
    task = await task_in_branch(db, callback_id, principal.branch)
    facts = await db.get(TicketFacts, task.ticket_id)
    holding = task.status == "scheduled" and task.claimed_by is not None
    holding = holding and task.claim_expires_at is not None and task.claim_expires_at > now
    ticket = TicketRef(
        ticket_id=task.ticket_id,
        branch=task.branch,
        unit=task.unit_id,
        division=task.division_id,
        owner=facts.owner_agent_id if facts else None,
        # the need to know lasts while the agent holds the callback
        assignees=frozenset({task.claimed_by}) if holding and task.claimed_by else frozenset(),
    )
    values = {
        PersonalField.PHONE: facts.customer_phone if facts else None,
        PersonalField.NAME: facts.customer_name if facts else None,
    }
    return Revealable(ticket, values)


add_reveal_route(
    router,
    "/callbacks/{callback_id}/reveal",
    revealer=CallbackAgent,
    lookup=_revealable,
    audit=store.AUDIT,
    description="The customer's phone or name in clear, for the agent who holds the claim; audit-logged (RULES.md §6).",
    name="reveal_customer_data",
    dependencies=[rate_limited("reveal")],
)


@router.get("/satisfaction", response_model=SatisfactionReport)
async def satisfaction_results(
    principal: Reporter,
    db: Db,
    group_by: Literal["unit", "division", "category"] = "unit",
    branch: str | None = None,
    since: Instant | None = None,
    until: Instant | None = None,
) -> SatisfactionReport:
    """Finished callbacks per unit, division or category: outcomes, solved share and ratings (RULES.md §7)."""
    if branch is not None:
        ensure_branch(principal, branch)
    rows = await store.satisfaction_by(db, scope=principal.scope, group_by=group_by, since=since, until=until)
    return SatisfactionReport(
        branch=principal.branch,
        group_by=group_by,
        since=since,
        until=until,
        rows=[_satisfaction_row(row) for row in rows],
    )


def _satisfaction_row(row: Any) -> SatisfactionRow:
    surveys, solved = int(row.surveys or 0), int(row.solved or 0)
    average = row.average_satisfaction
    return SatisfactionRow(
        key=row.key,
        completed=int(row.completed or 0),
        abandoned=int(row.abandoned or 0),
        reopened=int(row.reopened or 0),
        surveys=surveys,
        solved=solved,
        solved_rate=round(solved / surveys, 4) if surveys else None,
        average_satisfaction=round(float(average), 3) if average is not None else None,
        ratings={str(r): int(getattr(row, f"rated_{r}") or 0) for r in range(1, 6)},
    )


def routers() -> Sequence[SecureRouter]:
    """The service's routers: callbacks, reporting, and the auditors' view of its audit log."""
    return [router, audit_router(store.AUDIT, db_session), policies_reload_router()]
