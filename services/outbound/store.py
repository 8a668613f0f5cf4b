"""The outbound service's own database: customer contacts, opt-outs, the SMS queue, webhooks, 12345, self-service."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import AwareDateTime, service_metadata
from shared.inbox import InboxMixin
from shared.outbox import OutboxMixin
from shared.sms.queue import SmsQueueMixin


class Base(DeclarativeBase):
    metadata = service_metadata()


class Outbox(OutboxMixin, Base):
    pass


class ProcessedEvent(InboxMixin, Base):
    pass


class SmsMessage(SmsQueueMixin, Base):
    """The customers' status SMS (shared/sms sends them)."""


class TicketContact(Base):
    """What a ticket's notices need, from its TicketReceived: the customer's own mobile, never anyone else's."""

    __tablename__ = "ticket_contacts"

    ticket_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    branch: Mapped[str] = mapped_column(String(64))
    ticket_number: Mapped[str] = mapped_column(String(128))
    category: Mapped[str] = mapped_column(String(32))
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)  # E.164 mobile; None: no SMS possible
    urgent: Mapped[bool] = mapped_column(Boolean)
    received_at: Mapped[datetime] = mapped_column(AwareDateTime())
    # what the customer sees on the self-service page (shared/policy/self_service.py CustomerStep)
    status: Mapped[str] = mapped_column(String(16), default="received", server_default="received")


class OptOut(Base):
    """A customer who asked for no status SMS (per branch, by mobile number)."""

    __tablename__ = "opt_outs"

    branch: Mapped[str] = mapped_column(String(64), primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), primary_key=True)
    recorded_at: Mapped[datetime] = mapped_column(AwareDateTime())
    recorded_by: Mapped[str] = mapped_column(String(128))


class WebhookSubscription(Base):
    """A branch admin's subscription of a URL to event types; `personal_data` is the grant to see them unmasked."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    branch: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(100))
    personal_data: Mapped[bool] = mapped_column(Boolean)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())
    created_by: Mapped[str] = mapped_column(String(128))


class WebhookDelivery(Base):
    """One event for one subscription: pending until the receiver says 2xx, failed after 24 h of retries."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        Index("ix_webhook_deliveries_pending", "state", "subscription_id", "ticket_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    ticket_id: Mapped[str] = mapped_column(String(128))
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(AwareDateTime())
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)


class GovernmentTask(Base):
    """A ticket that came from a 12345 task: its results go back to the government platform."""

    __tablename__ = "government_tasks"

    ticket_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    branch: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[str] = mapped_column(String(128))
    ticket_number: Mapped[str] = mapped_column(String(128))


class GovernmentReport(Base):
    """One result (replied, approved, extended, returned, closed) for the platform: pending, acknowledged or failed."""

    __tablename__ = "government_reports"
    __table_args__ = (UniqueConstraint("event_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(String(128))
    branch: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    body: Mapped[dict[str, object]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(AwareDateTime())
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    ack_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)


async def is_opted_out(session: AsyncSession, branch: str, phone: str) -> bool:
    return await session.get(OptOut, (branch, phone)) is not None


async def contacts_of(session: AsyncSession, ticket_ids: set[str]) -> list[TicketContact]:
    """The known contacts of `ticket_ids`, loaded into the session in one query (keep the list while using them)."""
    if not ticket_ids:
        return []
    return list(await session.scalars(select(TicketContact).where(TicketContact.ticket_id.in_(ticket_ids))))


class SignInCode(Base):
    """A self-service one-time code sent by SMS: only its salted hash is kept (the id is the salt)."""

    __tablename__ = "sign_in_codes"
    __table_args__ = (Index("ix_sign_in_codes_phone", "branch", "phone", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    branch: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(32))  # E.164 mobile
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())
    expires_at: Mapped[datetime] = mapped_column(AwareDateTime())
    wrong: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)


class CustomerSession(Base):
    """A customer signed in by code: the browser's cookie holds the token, only its SHA-256 is kept."""

    __tablename__ = "customer_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    branch: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())
    expires_at: Mapped[datetime] = mapped_column(AwareDateTime(), index=True)


class CustomerStepRow(Base):
    """One milestone of a ticket as its customer sees it (from hotline.tickets, once per event)."""

    __tablename__ = "customer_steps"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(String(128), index=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    step: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(AwareDateTime())
    appointment_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)


class ServiceRating(Base):
    """The customer's rating of a finished ticket (once per ticket)."""

    __tablename__ = "service_ratings"

    ticket_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    branch: Mapped[str] = mapped_column(String(64))
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(String(500))
    rated_at: Mapped[datetime] = mapped_column(AwareDateTime())
