"""The ticket read model: one row per ticket (dimensions, milestones), one per ticket and clock, one per fact."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from services.reporting.store.base import Base
from shared.db import AwareDateTime


class ReportTicket(Base):
    """One ticket as supervision sees it. A row may exist before its TicketReceived is read (another topic)."""

    __tablename__ = "report_tickets"
    __table_args__ = (Index("ix_report_tickets_period", "branch", "received_day"),)

    ticket_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    branch: Mapped[str] = mapped_column(String(128))
    ticket_number: Mapped[str | None] = mapped_column(String(128))
    category: Mapped[str | None] = mapped_column(String(32))
    subtype: Mapped[str | None] = mapped_column(String(32))
    # phone, cti (a call the CTI system offered), 12345, callback (raised on a callback), web, app, walk_in
    channel: Mapped[str | None] = mapped_column(String(16))
    received_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    # the receipt's date, Monday and first of month on the branch's wall clock: the period buckets
    received_day: Mapped[date | None] = mapped_column(Date)
    received_week: Mapped[date | None] = mapped_column(Date)
    received_month: Mapped[date | None] = mapped_column(Date)
    unit_id: Mapped[str | None] = mapped_column(String(128))  # the unit holding it now (None: the center)
    division_id: Mapped[str | None] = mapped_column(String(128))
    dispatched_at: Mapped[datetime | None] = mapped_column(AwareDateTime())  # the first dispatch
    replied_at: Mapped[datetime | None] = mapped_column(AwareDateTime())  # the first reply
    resolved_on_first_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    complaint_level: Mapped[int | None] = mapped_column(Integer)  # the most severe grade it reached
    collective: Mapped[bool] = mapped_column(Boolean, default=False)
    repeat: Mapped[bool] = mapped_column(Boolean, default=False)
    external_deadline: Mapped[datetime | None] = mapped_column(AwareDateTime())
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    callback_outcome: Mapped[str | None] = mapped_column(String(16))  # completed, abandoned
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    problem_solved: Mapped[bool | None] = mapped_column(Boolean)
    closed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    close_reason: Mapped[str | None] = mapped_column(String(32))


class ReportClock(Base):
    """How one clock of one ticket stands (shared.policy.clock_outcomes) and the unit it counts against."""

    __tablename__ = "report_clocks"

    ticket_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    clock: Mapped[str] = mapped_column(String(16), primary_key=True)
    branch: Mapped[str] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[str | None] = mapped_column(String(128))


class ReportFact(Base):
    """One countable thing that happened to a ticket, against a unit (a return, an extension, a breach...)."""

    __tablename__ = "report_facts"
    __table_args__ = (Index("ix_report_facts_ticket", "ticket_id"), Index("ix_report_facts_kind", "branch", "kind"))

    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(128))
    branch: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(40))
    unit_id: Mapped[str | None] = mapped_column(String(128))
    occurred_at: Mapped[datetime] = mapped_column(AwareDateTime())
    value: Mapped[int | None] = mapped_column(Integer)


class ReportUnit(Base):
    """A unit's division, as the dispatches (and callbacks) name it."""

    __tablename__ = "report_units"

    branch: Mapped[str] = mapped_column(String(128), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    division_id: Mapped[str] = mapped_column(String(128))
