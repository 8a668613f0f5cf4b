"""The callback service's own tables (ticket facts, tasks, attempts, new-ticket requests) and their queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.auth import AuditLog, AuditRecordMixin, Scope
from shared.db import AwareDateTime, service_metadata
from shared.inbox import InboxMixin
from shared.outbox import OutboxMixin

SERVICE = "callback"


class Base(DeclarativeBase):
    metadata = service_metadata()


class Outbox(OutboxMixin, Base):
    pass


class ProcessedEvent(InboxMixin, Base):
    pass


class AuditRecord(AuditRecordMixin, Base):
    __tablename__ = "audit_log"


AUDIT = AuditLog(AuditRecord, service=SERVICE)


class TicketFacts(Base):
    """What the callback needs to know of a ticket, learnt from hotline.tickets."""

    __tablename__ = "ticket_facts"

    ticket_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    branch: Mapped[str] = mapped_column(String(128))
    ticket_number: Mapped[str | None] = mapped_column(String(128))
    category: Mapped[str | None] = mapped_column(String(32))
    complaint_level: Mapped[int | None] = mapped_column(Integer)
    customer_id: Mapped[str | None] = mapped_column(String(128))
    customer_name: Mapped[str | None] = mapped_column(String(2000))
    customer_phone: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    callback_mode: Mapped[str] = mapped_column(String(16), default="required")
    callback_requested_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    key_customer: Mapped[bool] = mapped_column(Boolean, default=False)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    hazardous: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_agent_id: Mapped[str | None] = mapped_column(String(128))
    unit_id: Mapped[str | None] = mapped_column(String(128))
    division_id: Mapped[str | None] = mapped_column(String(128))
    reply_id: Mapped[str | None] = mapped_column(String(128))
    reply_text: Mapped[str] = mapped_column(Text, default="")
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_reason: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime())


class CallbackTask(Base):
    """One callback owed for one approved reply; its next attempt is a row, never a timer in memory."""

    __tablename__ = "callback_tasks"
    __table_args__ = (
        UniqueConstraint("ticket_id", "reply_id", name="uq_callback_tasks_ticket_reply"),
        Index("ix_callback_tasks_queue", "branch", "status", "scheduled_for"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the callback_id of the events
    ticket_id: Mapped[str] = mapped_column(String(128), index=True)
    branch: Mapped[str] = mapped_column(String(128))
    reply_id: Mapped[str] = mapped_column(String(128))
    round: Mapped[int] = mapped_column(Integer, default=1)  # 2 after a reopening, and so on
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[str] = mapped_column(String(128))
    division_id: Mapped[str | None] = mapped_column(String(128))
    # scheduled -> completed | abandoned | reopened | cancelled
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    due_at: Mapped[datetime] = mapped_column(AwareDateTime())
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    scheduled_for: Mapped[datetime] = mapped_column(AwareDateTime())
    schedule_reason: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    attempts_made: Mapped[int] = mapped_column(Integer, default=0)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    first_attempt_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    claim_expires_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)
    reply_text: Mapped[str] = mapped_column(Text, default="")
    problem_solved: Mapped[bool | None] = mapped_column(Boolean)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    finished_by: Mapped[str | None] = mapped_column(String(128))
    finished_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    outcome_text: Mapped[str] = mapped_column(Text, default="")  # the abandon reason or the customer's account
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())


class CallbackAttempt(Base):
    """One call an agent made, with its outcome."""

    __tablename__ = "callback_attempts"
    __table_args__ = (UniqueConstraint("callback_id", "attempt_number", name="uq_callback_attempts_number"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    callback_id: Mapped[str] = mapped_column(ForeignKey("callback_tasks.id"), index=True)
    attempt_number: Mapped[int] = mapped_column(Integer)
    agent_id: Mapped[str] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(32))
    scheduled_for: Mapped[datetime] = mapped_column(AwareDateTime())
    attempted_at: Mapped[datetime] = mapped_column(AwareDateTime())
    note: Mapped[str] = mapped_column(Text, default="")


class NewTicketRequest(Base):
    """A new request raised during a callback, kept until the intake service has created its ticket."""

    __tablename__ = "new_ticket_requests"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # also the idempotency key sent to intake
    parent_ticket_id: Mapped[str] = mapped_column(String(128), index=True)
    callback_id: Mapped[str] = mapped_column(ForeignKey("callback_tasks.id"))
    branch: Mapped[str] = mapped_column(String(128))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    # pending -> created | rejected (intake refused it: a person must look at it)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime] = mapped_column(AwareDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_ticket_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(AwareDateTime())


# --------------------------------------------------------------------------- queries


def _claimable(now: datetime) -> Any:
    return and_(
        CallbackTask.status == "scheduled",
        CallbackTask.scheduled_for <= now,
        or_(CallbackTask.claimed_by.is_(None), CallbackTask.claim_expires_at <= now),
    )


async def due_callbacks(
    session: AsyncSession, *, branch: str, now: datetime, quiet_now: bool, limit: int, later: bool = False
) -> Sequence[tuple[CallbackTask, TicketFacts | None]]:
    """Tasks an agent may call now, by deadline then priority (RULES.md §9); none in the quiet window
    except customer-set times (RULES.md §5). With `later`, also the scheduled ones not allowed yet
    (the console shows them as "not before …")."""
    if later:
        condition = and_(CallbackTask.branch == branch, CallbackTask.status == "scheduled")
    else:
        condition = and_(CallbackTask.branch == branch, _claimable(now))
    if quiet_now and not later:
        condition = and_(condition, CallbackTask.schedule_reason == "customer_requested")
    rows = await session.execute(
        select(CallbackTask, TicketFacts)
        .outerjoin(TicketFacts, TicketFacts.ticket_id == CallbackTask.ticket_id)
        .where(condition)
        .order_by(CallbackTask.due_at, CallbackTask.priority.desc(), CallbackTask.scheduled_for, CallbackTask.id)
        .limit(limit)
    )
    return [(task, facts) for task, facts in rows.all()]


async def claim(
    session: AsyncSession, *, callback_id: str, agent_id: str, now: datetime, lease: timedelta, quiet_now: bool
) -> bool:
    """Atomically give the task to `agent_id`: one conditional UPDATE, so of two claimers exactly one wins."""
    condition = and_(
        CallbackTask.id == callback_id,
        CallbackTask.status == "scheduled",
        CallbackTask.scheduled_for <= now,
        or_(
            CallbackTask.claimed_by.is_(None),
            CallbackTask.claimed_by == agent_id,
            CallbackTask.claim_expires_at <= now,
        ),
    )
    if quiet_now:
        condition = and_(condition, CallbackTask.schedule_reason == "customer_requested")
    result: Any = await session.execute(
        update(CallbackTask)
        .where(condition)
        .values(
            claimed_by=agent_id,
            claimed_at=now,
            claim_expires_at=now + lease,
            version=CallbackTask.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == 1


async def bump_version(session: AsyncSession, task: CallbackTask, values: dict[str, Any]) -> bool:
    """Apply `values` only if nobody changed the task since it was read (optimistic lock)."""
    result: Any = await session.execute(
        update(CallbackTask)
        .where(CallbackTask.id == task.id, CallbackTask.version == task.version)
        .values(**values, version=task.version + 1)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == 1


async def attempts_of(session: AsyncSession, callback_id: str) -> Sequence[CallbackAttempt]:
    rows = await session.scalars(
        select(CallbackAttempt)
        .where(CallbackAttempt.callback_id == callback_id)
        .order_by(CallbackAttempt.attempt_number)
    )
    return rows.all()


async def new_requests_of(session: AsyncSession, callback_id: str) -> Sequence[NewTicketRequest]:
    rows = await session.scalars(
        select(NewTicketRequest)
        .where(NewTicketRequest.callback_id == callback_id)
        .order_by(NewTicketRequest.created_at)
    )
    return rows.all()


async def new_requests_in(
    session: AsyncSession, branch: str, status: str, limit: int = 100
) -> Sequence[NewTicketRequest]:
    rows = await session.scalars(
        select(NewTicketRequest)
        .where(NewTicketRequest.branch == branch, NewTicketRequest.status == status)
        .order_by(NewTicketRequest.created_at)
        .limit(limit)
    )
    return rows.all()


async def open_tasks_of(session: AsyncSession, ticket_id: str) -> Sequence[CallbackTask]:
    rows = await session.scalars(
        select(CallbackTask).where(CallbackTask.ticket_id == ticket_id, CallbackTask.status == "scheduled")
    )
    return rows.all()


async def rounds_of(session: AsyncSession, ticket_id: str) -> int:
    count = await session.scalar(select(func.count()).where(CallbackTask.ticket_id == ticket_id))
    return int(count or 0)


async def pending_new_requests(session: AsyncSession, now: datetime, limit: int = 20) -> Sequence[NewTicketRequest]:
    rows = await session.scalars(
        select(NewTicketRequest)
        .where(NewTicketRequest.status == "pending", NewTicketRequest.next_try_at <= now)
        .order_by(NewTicketRequest.next_try_at)
        .limit(limit)
    )
    return rows.all()


GROUPS = {"unit": CallbackTask.unit_id, "division": CallbackTask.division_id, "category": CallbackTask.category}


async def satisfaction_by(
    session: AsyncSession,
    *,
    scope: Scope,
    group_by: str,
    since: datetime | None,
    until: datetime | None,
) -> Sequence[Any]:
    """Finished callbacks per unit, division or category: outcomes, solved share, rating counts (RULES.md §7)."""
    key = GROUPS[group_by]
    conditions = [
        scope.where(
            CallbackTask.branch.expression, CallbackTask.unit_id.expression, CallbackTask.division_id.expression
        ),
        CallbackTask.status.in_(("completed", "abandoned", "reopened")),
    ]
    if since is not None:
        conditions.append(CallbackTask.finished_at >= since)
    if until is not None:
        conditions.append(CallbackTask.finished_at < until)

    def count_where(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    survey_done = and_(CallbackTask.status == "completed", CallbackTask.satisfaction.is_not(None))
    columns = [
        key.label("key"),
        count_where(CallbackTask.status == "completed").label("completed"),
        count_where(CallbackTask.status == "abandoned").label("abandoned"),
        count_where(CallbackTask.status == "reopened").label("reopened"),
        count_where(survey_done).label("surveys"),
        count_where(and_(survey_done, CallbackTask.problem_solved.is_(True))).label("solved"),
        func.avg(case((survey_done, CallbackTask.satisfaction), else_=None)).label("average_satisfaction"),
        *[count_where(CallbackTask.satisfaction == rating).label(f"rated_{rating}") for rating in range(1, 6)],
    ]
    rows = await session.execute(select(*columns).where(*conditions).group_by(key).order_by(key))
    return rows.all()
