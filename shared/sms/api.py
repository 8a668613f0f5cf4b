"""Routes every SMS-sending service mounts: the center's message list, a retry, Kannel's delivery reports."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal, cast

from fastapi import Query, Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth import Principal, Role, SecureRouter, require_roles
from shared.auth.deps import public
from shared.clock import Clock
from shared.http.errors import ApiError
from shared.privacy import mask_phone
from shared.sms.gateways import dlr_signature
from shared.sms.queue import SmsQueueMixin, SmsState, record_delivery_report

Center = Annotated[Principal, require_roles(Role.CENTER_SUPERVISOR, Role.ADMIN)]


class SmsMessagePublic(BaseModel):
    """One queued or sent SMS as the center sees it (the number masked)."""

    id: int
    message_key: str
    ticket_id: str | None
    purpose: str
    phone: str
    text: str
    state: SmsState
    attempts: int
    created_at: datetime
    not_before: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    gateway: str | None
    report_status: int | None
    last_error: str | None


# messages whose text is a secret (a self-service sign-in code): the center sees that one was sent, never the code
SECRET_PURPOSES = frozenset({"sign_in_code"})


def _public(row: Any) -> SmsMessagePublic:
    return SmsMessagePublic(
        id=row.id,
        message_key=row.message_key,
        ticket_id=row.ticket_id,
        purpose=row.purpose,
        phone=mask_phone(row.phone),
        text="******" if row.purpose in SECRET_PURPOSES else row.text,
        state=SmsState(row.state),
        attempts=row.attempts,
        created_at=row.created_at,
        not_before=row.not_before,
        sent_at=row.sent_at,
        delivered_at=row.delivered_at,
        gateway=row.gateway,
        report_status=row.report_status,
        last_error=row.last_error,
    )


def sms_router(
    service: str,
    model: type[SmsQueueMixin],
    sessions: Callable[[Request], async_sessionmaker[AsyncSession]],
    clock: Callable[[Request], Clock],
    dlr_secret: str | None,
    *,
    on_requeued: Callable[[Request], None] | None = None,
) -> SecureRouter:
    """`GET /api/v1/sms/messages`, `POST /api/v1/sms/messages/{id}/retry`, `GET /sms/dlr` (Kannel's dlr-url)."""
    router = SecureRouter()
    table = cast(Any, model)

    @router.get("/api/v1/sms/messages", response_model=list[SmsMessagePublic], tags=["sms"])
    async def list_messages(
        request: Request,
        principal: Center,
        state: SmsState | None = None,
        ticket_id: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[SmsMessagePublic]:
        """The branch's messages, newest first; `state=failed` is the alert list the center works from."""
        query = select(table).where(table.branch == principal.branch)
        if state is not None:
            query = query.where(table.state == state.value)
        if ticket_id is not None:
            query = query.where(table.ticket_id == ticket_id)
        async with sessions(request)() as session:
            rows = (await session.execute(query.order_by(table.id.desc()).limit(limit))).scalars()
            return [_public(row) for row in rows]

    @router.post("/api/v1/sms/messages/{message_id}/retry", response_model=SmsMessagePublic, tags=["sms"])
    async def retry_message(request: Request, principal: Center, message_id: int) -> SmsMessagePublic:
        """Send a failed message again (its retries start over)."""
        async with sessions(request)() as session, session.begin():
            row = await session.get(table, message_id, with_for_update=True)
            if row is None or row.branch != principal.branch:
                raise ApiError(404, f"no SMS {message_id} in branch {principal.branch}", code="not_found")
            if row.state != SmsState.FAILED.value:
                raise ApiError(409, f"SMS {message_id} is {row.state}; only a failed one is resent", code="conflict")
            row.state = SmsState.QUEUED.value
            row.attempts = 0
            row.not_before = clock(request).now()
            result = _public(row)
        if on_requeued is not None:
            on_requeued(request)
        return result

    @router.get("/sms/dlr", dependencies=[public()], include_in_schema=False)
    async def delivery_report(
        request: Request,
        id: Annotated[int, Query(ge=1)],
        sig: Annotated[str, Query(max_length=64)],
        status: Annotated[int, Query(ge=0, le=255)],
        answer: Annotated[str, Query(max_length=300)] = "",
    ) -> dict[str, Literal["ok"] | str | None]:
        """Kannel's delivery report for one of our messages (the signature proves the URL is ours)."""
        if not dlr_secret or not hmac.compare_digest(sig, dlr_signature(dlr_secret, id)):
            raise ApiError(403, "delivery report with a wrong signature", code="forbidden")
        async with sessions(request)() as session, session.begin():
            state = await record_delivery_report(
                session, model, id, status, clock(request).now(), service=service, answer=answer
            )
        if state is None:
            raise ApiError(404, f"no SMS {id}", code="not_found")
        return {"status": "ok", "state": state}

    return router
