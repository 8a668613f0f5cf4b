"""The explicit reveal call: one personal field of one ticket, audited before it is shown.

`add_reveal_route` is the one reveal endpoint every service mounts (intake's tickets, dispatch's tickets,
callback's callbacks): the service gives only how to find the record and its personal fields.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from shared.auth.audit import AuditAction, AuditLog
from shared.auth.principal import Principal, TicketRef, ensure_need_to_know
from shared.clock import Clock
from shared.http.deps import RequestClock, Session
from shared.http.errors import ApiError
from shared.http.responses import UnmaskedJSONResponse
from shared.privacy import PersonalField

log = structlog.get_logger(__name__)


class RevealRequest(BaseModel):
    """Body of a reveal call; without a reason it is a 422 (RULES.md §6: who, when and why)."""

    field: PersonalField
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=500)]


class RevealedField(BaseModel):
    ticket_id: str
    field: PersonalField
    value: str
    revealed_at: datetime
    audit_id: int = Field(description="the audit record of this reveal")


async def reveal_field(
    session: AsyncSession,
    *,
    audit: AuditLog[Any],
    principal: Principal,
    ticket: TicketRef,
    request: RevealRequest,
    value: str | None,
    now: datetime,
) -> UnmaskedJSONResponse:
    """Check need to know, write and commit the audit record, then return the clear value.

    The record is committed before the value leaves, so no reveal goes unaudited even if
    the caller's transaction later fails. 404 when the ticket is out of scope or has no such
    data, 403 when in scope without a need to know (RULES.md §6).
    """
    ensure_need_to_know(principal, ticket)
    if value is None or not value.strip():
        raise ApiError(404, f"ticket {ticket.ticket_id} has no {request.field.value}")
    entry = await audit.record(
        session,
        principal=principal,
        action=AuditAction.REVEAL,
        at=now,
        ticket_id=ticket.ticket_id,
        field=request.field.value,
        reason=request.reason,
    )
    await session.commit()
    log.info(
        "personal data revealed",
        ticket_id=ticket.ticket_id,
        revealed_field=request.field.value,
        audit_id=entry.id,
    )
    body = RevealedField(
        ticket_id=ticket.ticket_id,
        field=request.field,
        value=value,
        revealed_at=now,
        audit_id=entry.id,
    )
    return UnmaskedJSONResponse(body.model_dump(mode="json"))


@dataclass(frozen=True)
class Revealable:
    """What a reveal reads: the ticket the record belongs to (scope, need to know) and its personal fields."""

    ticket: TicketRef
    values: Mapping[PersonalField, str | None]


# (session, caller, the path's id, now) -> the record; raises NotFound (shared.errors) for none in the branch
RevealLookup = Callable[[AsyncSession, Principal, str, datetime], Awaitable[Revealable]]


def add_reveal_route(
    router: APIRouter,
    path: str,
    *,
    revealer: Any,
    lookup: RevealLookup,
    audit: AuditLog[Any],
    description: str,
    name: str = "reveal",
    **options: Any,
) -> None:
    """Mount `POST path` (one `{id}` in it): one personal field in clear, audited first (RULES.md §6).

    `revealer` is the route's `Annotated[Principal, require_roles(...)]`; `options` go to `add_api_route`
    (tags, the rate limit). The app's `state` must hold `sessions` and `clock` (shared.http.deps).
    """
    (id_name,) = re.findall(r"{(\w+)}", path)

    async def reveal(**arguments: Any) -> Response:
        session: AsyncSession = arguments["db"]
        principal: Principal = arguments["principal"]
        body: RevealRequest = arguments["body"]
        clock: Clock = arguments["clock"]
        now = clock.now()
        found = await lookup(session, principal, arguments[id_name], now)
        value = found.values.get(body.field)
        return await reveal_field(
            session, audit=audit, principal=principal, ticket=found.ticket, request=body, value=value, now=now
        )

    parameter = inspect.Parameter
    reveal.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            parameter(id_name, parameter.POSITIONAL_OR_KEYWORD, annotation=str),
            parameter("body", parameter.POSITIONAL_OR_KEYWORD, annotation=RevealRequest),
            parameter("principal", parameter.POSITIONAL_OR_KEYWORD, annotation=revealer),
            parameter("db", parameter.POSITIONAL_OR_KEYWORD, annotation=Session),
            parameter("clock", parameter.POSITIONAL_OR_KEYWORD, annotation=RequestClock),
        ],
        return_annotation=Response,
    )
    router.add_api_route(
        path, reveal, methods=["POST"], name=name, description=description, response_model=RevealedField, **options
    )
