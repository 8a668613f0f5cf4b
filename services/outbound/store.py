"""The outbound service's own database: each ticket's customer contact as notices need it, opt-outs, the SMS queue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String
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


class OptOut(Base):
    """A customer who asked for no status SMS (per branch, by mobile number)."""

    __tablename__ = "opt_outs"

    branch: Mapped[str] = mapped_column(String(64), primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), primary_key=True)
    recorded_at: Mapped[datetime] = mapped_column(AwareDateTime())
    recorded_by: Mapped[str] = mapped_column(String(128))


async def is_opted_out(session: AsyncSession, branch: str, phone: str) -> bool:
    return await session.get(OptOut, (branch, phone)) is not None
