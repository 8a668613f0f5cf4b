"""The explicit reveal call: one personal field of one ticket, audited before it is shown."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import structlog
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.audit import AuditAction, AuditLog
from shared.auth.principal import Principal, TicketRef, ensure_need_to_know
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
