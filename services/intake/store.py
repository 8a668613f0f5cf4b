"""Intake's own tables (work orders, the agents' ticket view, customers, calls) and their queries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    case,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, undefer

from shared.auth import AuditLog, AuditRecordMixin, TicketRef, VerificationAttemptMixin, VerificationStore
from shared.db import AwareDateTime, service_metadata
from shared.inbox import InboxMixin
from shared.outbox import OutboxMixin

SERVICE = "intake"

# ticket statuses of the agents' view, in lifecycle order
OPEN_STATUSES = (
    "received",
    "dispatch_queued",
    "dispatched",
    "accepted",
    "contacted",
    "returned",
    "replied",
    "callback",
    "reopened",
)
CLOSED_STATUSES = ("resolved_on_call", "closed")


class Base(DeclarativeBase):
    metadata = service_metadata()


class Outbox(OutboxMixin, Base):
    """Events staged with the state change that caused them (shared.outbox)."""


class ProcessedEvent(InboxMixin, Base):
    """Ids of consumed events already acted on (shared.inbox)."""


class Audit(AuditRecordMixin, Base):
    __tablename__ = "audit_log"


class VerificationAttempt(VerificationAttemptMixin, Base):
    __tablename__ = "verification_attempts"


AUDIT = AuditLog(Audit, service=SERVICE)
ATTEMPTS = VerificationStore(VerificationAttempt)


class Ticket(Base):
    """A received work order and its current state as the agents see it (the ticket view)."""

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("branch", "ticket_number", name="uq_tickets_branch_number"),
        UniqueConstraint("branch", "external_task_id", name="uq_tickets_branch_external_task"),
        UniqueConstraint("branch", "idempotency_key", name="uq_tickets_branch_idempotency_key"),
        Index("ix_tickets_branch_received", "branch", "received_at"),
        Index("ix_tickets_phone", "branch", "customer_phone"),
    )

    ticket_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_number: Mapped[str] = mapped_column(String(64))
    branch: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(32), index=True)
    subtype: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32), index=True)
    received_at: Mapped[datetime] = mapped_column(AwareDateTime())
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    description: Mapped[str] = mapped_column(Text, default="")
    customer_id: Mapped[str | None] = mapped_column(String(64))
    customer_name: Mapped[str | None] = mapped_column(String(200))
    customer_phone: Mapped[str | None] = mapped_column(String(32))  # national digits
    customer_address: Mapped[str | None] = mapped_column(String(2000))
    account_number: Mapped[str | None] = mapped_column(String(128))
    id_card_number: Mapped[str | None] = mapped_column(String(32))
    location: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    complaint: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    complaint_level: Mapped[int | None] = mapped_column(Integer)
    subject_key: Mapped[str | None] = mapped_column(String(2000))
    hazardous: Mapped[bool] = mapped_column(Boolean, default=False)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    callback_mode: Mapped[str] = mapped_column(String(20), default="required")
    callback_requested_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    owner_agent_id: Mapped[str | None] = mapped_column(String(128))
    call_id: Mapped[str | None] = mapped_column(String(128), index=True)
    unit_id: Mapped[str | None] = mapped_column(String(128), index=True)
    division_id: Mapped[str | None] = mapped_column(String(128), index=True)
    parent_ticket_id: Mapped[str | None] = mapped_column(String(64))
    external_task_id: Mapped[str | None] = mapped_column(String(128))
    # a machine client's retry key (Idempotency-Key header): the same key returns the same ticket
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    external_deadline: Mapped[datetime | None] = mapped_column(AwareDateTime())
    external_deadline_stricter: Mapped[bool] = mapped_column(Boolean, default=False)
    breached: Mapped[bool] = mapped_column(Boolean, default=False)
    escalations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    callback: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # attempts and outcome
    resolution: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # first-contact answer

    def ref(self) -> TicketRef:
        return TicketRef(
            ticket_id=self.ticket_id,
            branch=self.branch,
            unit=self.unit_id,
            division=self.division_id,
            owner=self.owner_agent_id,
        )


class TicketClock(Base):
    """One SLA clock of a ticket as the view shows it: start, deadline, and whether it was met."""

    __tablename__ = "ticket_clocks"

    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.ticket_id", ondelete="CASCADE"), primary_key=True)
    clock: Mapped[str] = mapped_column(String(20), primary_key=True)
    started_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    deadline: Mapped[datetime | None] = mapped_column(AwareDateTime())
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    stopped_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    state: Mapped[str] = mapped_column(String(16), default="running")  # running, met, late, breached
    warned: Mapped[bool] = mapped_column(Boolean, default=False)
    breached: Mapped[bool] = mapped_column(Boolean, default=False)


class TicketHistory(Base):
    """The events of a ticket's life in the order they were seen (the view's history)."""

    __tablename__ = "ticket_history"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(String(64), index=True)
    event_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(AwareDateTime())
    producer: Mapped[str] = mapped_column(String(64))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TicketNumberCounter(Base):
    """The last ticket number handed out per branch and local day; the row lock serialises instances."""

    __tablename__ = "ticket_number_counters"

    branch: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class Customer(Base):
    """A customer of one branch, from the billing system's export."""

    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("branch", "account_number", name="uq_customers_branch_account"),)

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    branch: Mapped[str] = mapped_column(String(40), index=True)
    account_number: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200))
    id_card_number: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(2000))
    key_customer: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime())


class CustomerPhone(Base):
    """A phone number of a customer (national digits), for the screen pop."""

    __tablename__ = "customer_phones"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.customer_id", ondelete="CASCADE"), primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), primary_key=True)
    branch: Mapped[str] = mapped_column(String(40))

    __table_args__ = (Index("ix_customer_phones_lookup", "branch", "phone"),)


class CallRecord(Base):
    """One telephony call, from the CTI events (offered, answered, ended)."""

    __tablename__ = "call_records"

    call_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    branch: Mapped[str] = mapped_column(String(40), index=True)
    caller_number: Mapped[str | None] = mapped_column(String(32))
    dialled_number: Mapped[str | None] = mapped_column(String(32))
    queue: Mapped[str | None] = mapped_column(String(128))
    agent_id: Mapped[str | None] = mapped_column(String(128), index=True)
    offered_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    state: Mapped[str] = mapped_column(String(16), default="ringing")  # ringing, answered, ended, abandoned
    talk_seconds: Mapped[float | None] = mapped_column(Float)
    ended_by: Mapped[str | None] = mapped_column(String(16))
    recording_ref: Mapped[str | None] = mapped_column(String(2000))


# --------------------------------------------------------------------------- queries


_NEXT_NUMBER: dict[str, Any] = {}


def _next_number_statement(dialect: str) -> Any:
    """The counter's upsert, built once per dialect: a statement reused keeps its compiled form and cache key."""
    statement = _NEXT_NUMBER.get(dialect)
    if statement is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(TicketNumberCounter)
            .values(branch=bindparam("branch"), day=bindparam("day"), last=1)
            .on_conflict_do_update(index_elements=["branch", "day"], set_={"last": TicketNumberCounter.last + 1})
            .returning(TicketNumberCounter.last)
        )
        _NEXT_NUMBER[dialect] = statement
    return statement


async def next_ticket_number(session: AsyncSession, branch: str, day: date) -> int:
    """The next number of the branch's day; the upserted row stays locked until the caller commits."""
    connection = await session.connection()  # the session's transaction; a Core statement, no ORM round
    statement = _next_number_statement(connection.dialect.name)
    return int((await connection.execute(statement, {"branch": branch, "day": day})).scalar_one())


async def ticket_by_external_task(session: AsyncSession, branch: str, task_id: str) -> Ticket | None:
    return await session.scalar(select(Ticket).where(Ticket.branch == branch, Ticket.external_task_id == task_id))


async def ticket_by_idempotency_key(session: AsyncSession, branch: str, key: str) -> Ticket | None:
    return await session.scalar(select(Ticket).where(Ticket.branch == branch, Ticket.idempotency_key == key))


async def tickets_by_phone(session: AsyncSession, branch: str, phone: str, limit: int = 50) -> Sequence[Ticket]:
    """The caller's tickets, open ones first, newest first within each group."""
    closed_last = case((Ticket.status.in_(CLOSED_STATUSES), 1), else_=0)
    rows = await session.scalars(
        select(Ticket)
        .where(Ticket.branch == branch, Ticket.customer_phone == phone)
        .order_by(closed_last, Ticket.received_at.desc())
        .limit(limit)
    )
    return rows.all()


async def customers_by_phone(session: AsyncSession, branch: str, phone: str) -> Sequence[Customer]:
    rows = await session.scalars(
        select(Customer)
        .join(CustomerPhone, CustomerPhone.customer_id == Customer.customer_id)
        .where(CustomerPhone.branch == branch, CustomerPhone.phone == phone)
        .order_by(Customer.account_number)
    )
    return rows.unique().all()


async def clocks_of(session: AsyncSession, ticket_id: str) -> Sequence[TicketClock]:
    rows = await session.scalars(select(TicketClock).where(TicketClock.ticket_id == ticket_id))
    return rows.all()


async def history_of(session: AsyncSession, ticket_id: str) -> Sequence[TicketHistory]:
    rows = await session.scalars(
        select(TicketHistory)
        .where(TicketHistory.ticket_id == ticket_id)
        .order_by(TicketHistory.occurred_at, TicketHistory.id)
    )
    return rows.all()


async def tickets_of_call(session: AsyncSession, call_id: str) -> Sequence[Ticket]:
    rows = await session.scalars(select(Ticket).where(Ticket.call_id == call_id).order_by(Ticket.received_at))
    return rows.all()


async def call_counts(
    session: AsyncSession, branch: str, since: datetime | None, until: datetime | None
) -> dict[str, Any]:
    """Answered and abandoned calls and the handle time of the answered ones, in a time range."""
    conditions = [CallRecord.branch == branch]
    if since is not None:
        conditions.append(CallRecord.offered_at >= since)
    if until is not None:
        conditions.append(CallRecord.offered_at < until)
    row = (
        await session.execute(
            select(
                func.count().filter(CallRecord.state.in_(("answered", "ended"))),
                func.count().filter(CallRecord.state == "abandoned"),
                func.count().filter(CallRecord.state == "ringing"),
                func.count().filter(CallRecord.state == "answered"),
                func.avg(CallRecord.talk_seconds).filter(CallRecord.state == "ended"),
                func.sum(CallRecord.talk_seconds).filter(CallRecord.state == "ended"),
            ).where(*conditions)
        )
    ).one()
    return {
        "answered": int(row[0] or 0),
        "abandoned": int(row[1] or 0),
        "ringing": int(row[2] or 0),
        "in_progress": int(row[3] or 0),
        "average_handle_seconds": float(row[4]) if row[4] is not None else None,
        "total_handle_seconds": float(row[5] or 0.0),
    }


class TicketPhoto(Base):
    """A customer's photo of a self-service request (issue 21): written in the ticket's own transaction.

    The bytes are in the row (at most 3 photos of 5 MB a ticket): a ticket never has half its photos, and a photo
    never outlives a create that failed.
    """

    __tablename__ = "ticket_photos"

    photo_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.ticket_id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(AwareDateTime())
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


async def photos_of(session: AsyncSession, ticket_id: str) -> list[TicketPhoto]:
    rows = await session.scalars(
        select(TicketPhoto).where(TicketPhoto.ticket_id == ticket_id).order_by(TicketPhoto.position)
    )
    return list(rows)


async def photo_with_bytes(session: AsyncSession, ticket_id: str, photo_id: str) -> TicketPhoto | None:
    photo = await session.scalar(
        select(TicketPhoto)
        .where(TicketPhoto.photo_id == photo_id, TicketPhoto.ticket_id == ticket_id)
        .options(undefer(TicketPhoto.data))
    )
    return photo
