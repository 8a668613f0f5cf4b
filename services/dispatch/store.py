"""Dispatch's own database: tickets as dispatch sees them, org tree and rules, extensions, replies, attachments."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ColumnElement, ForeignKey, Index, Integer, String, Text, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.dispatch.lifecycle import Status
from services.dispatch.routing import Division, OrgTree, RoutingRule, Unit, describe_rule, rule_from_mapping
from shared.auth import AuditRecordMixin, Scope, TicketRef
from shared.db import AwareDateTime, service_metadata
from shared.inbox import InboxMixin
from shared.outbox import OutboxMixin
from shared.policy.categories import Category, Subtype
from shared.policy.limits import ComplaintLevel
from shared.sms.queue import SmsQueueMixin

SHORT = 128
TEXT = 2_000


class Base(DeclarativeBase):
    metadata = service_metadata()


class Outbox(OutboxMixin, Base):
    pass


class ProcessedEvent(InboxMixin, Base):
    pass


class AuditRecord(AuditRecordMixin, Base):
    __tablename__ = "audit_log"


class SmsMessage(SmsQueueMixin, Base):
    """The urgent-notice SMS queue (shared/sms; services/dispatch/sms.py fills it)."""


class Ticket(Base):
    """One work order on the dispatch side; `version` is the optimistic-concurrency counter."""

    __tablename__ = "tickets"

    ticket_id: Mapped[str] = mapped_column(String(SHORT), primary_key=True)
    branch: Mapped[str] = mapped_column(String(SHORT))
    ticket_number: Mapped[str | None] = mapped_column(String(SHORT))
    status: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(32))
    subtype: Mapped[str | None] = mapped_column(String(32))
    complaint_level: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    # where it is: the unit and its division (None while queued)
    unit_id: Mapped[str | None] = mapped_column(String(SHORT))
    division_id: Mapped[str | None] = mapped_column(String(SHORT))
    previous_unit_id: Mapped[str | None] = mapped_column(String(SHORT))
    selected_unit_id: Mapped[str | None] = mapped_column(String(SHORT))  # TicketReceived.unit_id (agent's choice)
    notified_unit_ids: Mapped[list[str]] = mapped_column(JSON, default=list)  # urgent notices already sent
    dispatch_count: Mapped[int] = mapped_column(Integer, default=0)
    dispatch_mode: Mapped[str | None] = mapped_column(String(16))
    rule_id: Mapped[str | None] = mapped_column(String(SHORT))
    queue_reason: Mapped[str | None] = mapped_column(String(32))
    queue_detail: Mapped[str | None] = mapped_column(String(TEXT))
    handler_id: Mapped[str | None] = mapped_column(String(SHORT))
    work_round: Mapped[int] = mapped_column(Integer, default=1)
    # the clocks' anchors (RULES.md §2): dispatch runs from received/returned, unit clocks from dispatch
    received_at: Mapped[datetime] = mapped_column(AwareDateTime())
    dispatch_clock_from: Mapped[datetime] = mapped_column(AwareDateTime())
    dispatched_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    contacted_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    resolve_clock_from: Mapped[datetime | None] = mapped_column(AwareDateTime())
    replied_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    handle_stopped_at: Mapped[datetime | None] = mapped_column(AwareDateTime())  # first reply of a dispatch
    returned_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    returned_from: Mapped[str | None] = mapped_column(String(32))
    return_reason: Mapped[str | None] = mapped_column(String(64))
    return_text: Mapped[str | None] = mapped_column(String(TEXT))
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    # RULES.md §2, §7: every return counts against the unit that returned it
    returns_by_unit: Mapped[dict[str, int] | None] = mapped_column(JSON, default=dict)
    # a 12345 task's government deadline when stricter than the policy's (§6): it caps every clock
    external_deadline: Mapped[datetime | None] = mapped_column(AwareDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    close_reason: Mapped[str | None] = mapped_column(String(64))
    close_text: Mapped[str | None] = mapped_column(String(TEXT))
    # what the unit needs to act (personal data: masked in every response and log)
    description: Mapped[str] = mapped_column(Text, default="")
    district: Mapped[str | None] = mapped_column(String(TEXT))
    community: Mapped[str | None] = mapped_column(String(TEXT))
    customer_name: Mapped[str | None] = mapped_column(String(TEXT))
    customer_phone: Mapped[str | None] = mapped_column(String(64))
    customer_address: Mapped[str | None] = mapped_column(String(TEXT))
    # priority after deadlines (RULES.md §9)
    key_customer: Mapped[bool] = mapped_column(Boolean, default=False)
    hazardous: Mapped[bool] = mapped_column(Boolean, default=False)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_agent_id: Mapped[str | None] = mapped_column(String(SHORT))
    supervision_flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    spot_checked: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime())

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's declaration
    __table_args__ = (
        Index("ix_tickets_unit_status", "branch", "unit_id", "status"),
        Index("ix_tickets_branch_status", "branch", "status"),
    )

    @property
    def state(self) -> Status:
        return Status(self.status)

    @property
    def category_enum(self) -> Category:
        return Category(self.category)

    @property
    def subtype_enum(self) -> Subtype | None:
        return Subtype(self.subtype) if self.subtype else None

    @property
    def level(self) -> ComplaintLevel | None:
        return ComplaintLevel(self.complaint_level) if self.complaint_level is not None else None

    def ref(self) -> TicketRef:
        return TicketRef(
            ticket_id=self.ticket_id,
            branch=self.branch,
            unit=self.unit_id,
            division=self.division_id,
            owner=self.owner_agent_id,
            assignees=frozenset({self.handler_id}) if self.handler_id else frozenset(),
        )


class Extension(Base):
    """A unit's request for more time on one clock, and the center's decision."""

    __tablename__ = "extensions"

    request_id: Mapped[str] = mapped_column(String(SHORT), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.ticket_id"), index=True)
    branch: Mapped[str] = mapped_column(String(SHORT))
    unit_id: Mapped[str] = mapped_column(String(SHORT))
    work_round: Mapped[int] = mapped_column(Integer)
    dispatch_count: Mapped[int] = mapped_column(Integer)
    clock: Mapped[str] = mapped_column(String(16))
    handler_id: Mapped[str] = mapped_column(String(SHORT))
    current_deadline: Mapped[datetime] = mapped_column(AwareDateTime())
    requested_deadline: Mapped[datetime] = mapped_column(AwareDateTime())
    reason_text: Mapped[str] = mapped_column(String(TEXT))
    requested_at: Mapped[datetime] = mapped_column(AwareDateTime())
    status: Mapped[str] = mapped_column(String(16))  # pending, granted, denied
    new_deadline: Mapped[datetime | None] = mapped_column(AwareDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(SHORT))
    decided_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    decision_text: Mapped[str | None] = mapped_column(String(TEXT))


class Reply(Base):
    """A unit's reply (result, opinion, attachments) and the center's review."""

    __tablename__ = "replies"

    reply_id: Mapped[str] = mapped_column(String(SHORT), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.ticket_id"), index=True)
    branch: Mapped[str] = mapped_column(String(SHORT))
    unit_id: Mapped[str] = mapped_column(String(SHORT))
    handler_id: Mapped[str] = mapped_column(String(SHORT))
    result: Mapped[str] = mapped_column(Text)
    opinion: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(AwareDateTime())
    status: Mapped[str] = mapped_column(String(16))  # pending, approved, rejected
    refused: Mapped[bool] = mapped_column(Boolean, default=False)  # a refused service request (RULES.md §2)
    reviewer_id: Mapped[str | None] = mapped_column(String(SHORT))
    reviewed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    review_reason: Mapped[str | None] = mapped_column(String(SHORT))
    review_text: Mapped[str | None] = mapped_column(String(TEXT))


class AttachmentRecord(Base):
    """Where a stored file is and what it is; the bytes live in the attachment storage, never here."""

    __tablename__ = "attachments"

    attachment_id: Mapped[str] = mapped_column(String(SHORT), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.ticket_id"), index=True)
    branch: Mapped[str] = mapped_column(String(SHORT))
    unit_id: Mapped[str] = mapped_column(String(SHORT))
    reply_id: Mapped[str | None] = mapped_column(String(SHORT))
    media_type: Mapped[str] = mapped_column(String(127))
    size_bytes: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str | None] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(512))
    uploaded_by: Mapped[str] = mapped_column(String(SHORT))
    uploaded_at: Mapped[datetime] = mapped_column(AwareDateTime())


class Flag(Base):
    """A supervision flag (督办) or spot-check mark with its note (RULES.md §7)."""

    __tablename__ = "flags"

    flag_id: Mapped[str] = mapped_column(String(SHORT), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.ticket_id"), index=True)
    branch: Mapped[str] = mapped_column(String(SHORT))
    kind: Mapped[str] = mapped_column(String(16))
    supervisor_id: Mapped[str] = mapped_column(String(SHORT))
    org_level: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(TEXT), default="")
    at: Mapped[datetime] = mapped_column(AwareDateTime())


class OrgNode(Base):
    """A center, division or unit of a branch's org tree (seeded from the branch's org file)."""

    __tablename__ = "org_nodes"

    branch: Mapped[str] = mapped_column(String(SHORT), primary_key=True)
    node_id: Mapped[str] = mapped_column(String(SHORT), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # center, division, unit
    name: Mapped[str] = mapped_column(String(TEXT))
    parent_id: Mapped[str | None] = mapped_column(String(SHORT))
    duty_phone: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class RuleRow(Base):
    """A routing rule of a branch; `position` keeps the file order."""

    __tablename__ = "routing_rules"

    branch: Mapped[str] = mapped_column(String(SHORT), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(SHORT), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)


# --------------------------------------------------------------------------- queries


async def load_org(session: AsyncSession, branch: str) -> OrgTree | None:
    """The branch's org tree as stored (None when the branch has none)."""
    nodes = list(await session.scalars(select(OrgNode).where(OrgNode.branch == branch)))
    centers = [n for n in nodes if n.kind == "center"]
    if not centers:
        return None
    divisions = {n.node_id: Division(n.node_id, n.name, n.active) for n in nodes if n.kind == "division"}
    units = {
        n.node_id: Unit(n.node_id, n.name, n.parent_id or "", n.duty_phone, n.active) for n in nodes if n.kind == "unit"
    }
    rows = await session.scalars(select(RuleRow).where(RuleRow.branch == branch).order_by(RuleRow.position))
    rules: list[RoutingRule] = [rule_from_mapping(r.rule_id, r.definition) for r in rows]
    return OrgTree(branch, centers[0].node_id, centers[0].name, divisions, units, tuple(rules))


async def save_org(session: AsyncSession, org: OrgTree) -> None:
    """Write a whole org tree for its branch (seeding from a file)."""
    session.add(OrgNode(branch=org.branch, node_id=org.center_id, kind="center", name=org.center_name))
    for d in org.divisions.values():
        session.add(
            OrgNode(branch=org.branch, node_id=d.division_id, kind="division", name=d.name, parent_id=org.center_id)
        )
    for u in org.units.values():
        session.add(
            OrgNode(
                branch=org.branch,
                node_id=u.unit_id,
                kind="unit",
                name=u.name,
                parent_id=u.division_id,
                duty_phone=u.duty_phone,
                active=u.active,
            )
        )
    for position, rule in enumerate(org.rules):
        session.add(RuleRow(branch=org.branch, rule_id=rule.rule_id, position=position, definition=describe_rule(rule)))


async def has_org(session: AsyncSession, branch: str) -> bool:
    found = await session.scalar(
        select(OrgNode.node_id).where(OrgNode.branch == branch, OrgNode.kind == "center").limit(1)
    )
    return found is not None


async def tickets_by_id(session: AsyncSession, ticket_ids: Collection[str]) -> dict[str, Ticket]:
    """Load tickets into the session in one query, by id."""
    if not ticket_ids:
        return {}
    found = await session.scalars(select(Ticket).where(Ticket.ticket_id.in_(ticket_ids)))
    return {ticket.ticket_id: ticket for ticket in found}


async def tickets_where(
    session: AsyncSession,
    *conditions: ColumnElement[bool],
    statuses: Collection[Status] = (),
    unit_id: str | None = None,
    newest_first: int | None = None,
) -> list[Ticket]:
    """Tickets matching the conditions (a principal's scope, a branch), in the given statuses and unit.

    `newest_first`: at most that many, most recently received first (otherwise unordered: callers sort).
    """
    query = select(Ticket).where(*conditions)
    if statuses:
        query = query.where(Ticket.status.in_([s.value for s in statuses]))
    if unit_id:
        query = query.where(Ticket.unit_id == unit_id)
    if newest_first is not None:
        query = query.order_by(Ticket.received_at.desc()).limit(newest_first)
    return list(await session.scalars(query))


def in_scope(scope: Scope) -> ColumnElement[bool]:
    """A principal's scope (branch, division or unit) as a condition on the ticket table."""
    columns = Ticket.__table__.c
    return scope.where(columns.branch, columns.unit_id, columns.division_id)


async def extensions_by_ticket(session: AsyncSession, ticket_ids: Sequence[str]) -> dict[str, list[Extension]]:
    """Every extension request of each ticket (an empty list for a ticket with none)."""
    found: dict[str, list[Extension]] = {t: [] for t in ticket_ids}
    if ticket_ids:
        for ext in await session.scalars(select(Extension).where(Extension.ticket_id.in_(ticket_ids))):
            found[ext.ticket_id].append(ext)
    return found


async def extensions_of(session: AsyncSession, ticket_id: str) -> list[Extension]:
    return list(await session.scalars(select(Extension).where(Extension.ticket_id == ticket_id)))


async def pending_extensions(session: AsyncSession, branch: str) -> list[Extension]:
    """The branch's extension requests waiting for the center, nearest current deadline first."""
    rows = await session.scalars(
        select(Extension)
        .where(Extension.branch == branch, Extension.status == "pending")
        .order_by(Extension.current_deadline)
    )
    return list(rows)


async def pending_reply(session: AsyncSession, ticket_id: str) -> Reply | None:
    """The latest reply of the ticket still waiting for the center's review."""
    found: Reply | None = await session.scalar(
        select(Reply)
        .where(Reply.ticket_id == ticket_id, Reply.status == "pending")
        .order_by(Reply.submitted_at.desc())
        .limit(1)
    )
    return found


@dataclass(frozen=True)
class TicketRecords:
    """What hangs off one ticket: its extension requests, replies, attachments and flags, each in order."""

    extensions: list[Extension]
    replies: list[Reply]
    attachments: list[AttachmentRecord]
    flags: list[Flag]


async def ticket_records(session: AsyncSession, ticket_id: str) -> TicketRecords:
    extensions = await extensions_of(session, ticket_id)
    replies = list(
        await session.scalars(select(Reply).where(Reply.ticket_id == ticket_id).order_by(Reply.submitted_at))
    )
    attachments = list(
        await session.scalars(
            select(AttachmentRecord)
            .where(AttachmentRecord.ticket_id == ticket_id)
            .order_by(AttachmentRecord.uploaded_at)
        )
    )
    flags = list(await session.scalars(select(Flag).where(Flag.ticket_id == ticket_id).order_by(Flag.at)))
    return TicketRecords(extensions, replies, attachments, flags)


@dataclass(frozen=True)
class EmittedEvent:
    event_id: str
    type: str
    topic: str
    created_at: datetime


async def emitted_events(session: AsyncSession, ticket_id: str) -> list[EmittedEvent]:
    """The events dispatch wrote to its outbox for this ticket, in order."""
    rows = await session.execute(
        select(Outbox.event_id, Outbox.event_type, Outbox.topic, Outbox.created_at)
        .where(Outbox.key == ticket_id.encode())
        .order_by(Outbox.id)
    )
    return [EmittedEvent(str(r.event_id), r.event_type, r.topic, r.created_at) for r in rows]


async def next_rule_position(session: AsyncSession, branch: str) -> int:
    """The position after the branch's last routing rule (a new rule is tried last)."""
    last = await session.scalar(select(func.max(RuleRow.position)).where(RuleRow.branch == branch))
    return (last or 0) + 1


async def delete_rule(session: AsyncSession, branch: str, rule_id: str) -> bool:
    """Remove one routing rule; False when the branch has no such rule."""
    result = await session.execute(delete(RuleRow).where(RuleRow.branch == branch, RuleRow.rule_id == rule_id))
    return bool(getattr(result, "rowcount", 0))
