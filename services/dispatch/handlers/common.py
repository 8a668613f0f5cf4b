"""What every dispatch use case needs: the context, the ticket as the caller may see it, staging events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.lifecycle import Action, StaleVersion, Status, next_status
from services.dispatch.notify import Notifier
from services.dispatch.routing import OrgTree
from services.dispatch.store import Outbox, Ticket, load_org
from shared.auth import Principal, Role, ensure_in_scope
from shared.branch_config import BranchPolicies
from shared.clock import Clock
from shared.errors import DomainError, Forbidden, Invalid, NotFound
from shared.events import Event, Payload, new_event
from shared.outbox import stage
from shared.storage import AttachmentStorage

PRODUCER = "dispatch"


@dataclass
class DispatchContext:
    """What the use cases need besides the session: the clock, the branch policies, storage, the notifier."""

    clock: Clock
    policies: BranchPolicies
    storage: AttachmentStorage | None = None
    notifier: Notifier | None = None
    max_attachment_bytes: int = 5 * 1024 * 1024
    max_attachments_per_reply: int = 10
    orgs: dict[str, OrgTree | None] = field(default_factory=dict)  # per-batch org cache (worker only)


def ticket_event(ticket: Ticket, payload: Payload, ctx: DispatchContext, correlation_id: str, **kw: Any) -> Event[Any]:
    return new_event(
        payload,
        branch=ticket.branch,
        producer=PRODUCER,
        correlation_id=correlation_id,
        occurred_at=ctx.clock.now(),
        ticket_id=ticket.ticket_id,
        **kw,
    )


def emit(session: AsyncSession, ctx: DispatchContext, events: Sequence[Event[Any]]) -> list[Event[Any]]:
    stage(session, Outbox, events, ctx.clock)
    return list(events)


def move(ticket: Ticket, action: Action, ctx: DispatchContext, target: Status | None = None) -> None:
    """Apply a transition of the lifecycle (RULES.md §2 statuses); illegal ones raise IllegalTransition."""
    status = next_status(ticket.state, action, version=ticket.version)
    ticket.status = (target or status).value
    ticket.updated_at = ctx.clock.now()  # also bumps the version of actions that keep the status


def field_error(field_name: str, message: str, kind: type[DomainError] = Invalid) -> DomainError:
    return kind.on(field_name, message)


async def org_for(session: AsyncSession, ctx: DispatchContext, branch: str) -> OrgTree | None:
    if branch not in ctx.orgs:
        ctx.orgs[branch] = await load_org(session, branch)
    return ctx.orgs[branch]


async def ticket_for(
    session: AsyncSession, principal: Principal, ticket_id: str, expected_version: int | None = None
) -> Ticket:
    """The ticket if the principal may see it (404 otherwise, RULES.md §6), at the version the caller read."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} not found")
    ensure_in_scope(principal, ticket.ref())
    if expected_version is not None and expected_version != ticket.version:
        raise StaleVersion(ticket.state, ticket.version, expected_version)
    return ticket


def holding_unit(principal: Principal, ticket: Ticket) -> str:
    """The unit acting; only the unit the ticket is dispatched to may act on it."""
    if principal.role is not Role.UNIT_HANDLER or ticket.unit_id is None or principal.unit != ticket.unit_id:
        raise Forbidden("only a handler of the unit holding the ticket may do this")
    return ticket.unit_id


def new_correlation() -> str:
    return str(uuid.uuid4())
