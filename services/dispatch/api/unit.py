"""The unit's actions on the ticket it holds: accept, contact, return, ask for more time, attach, reply."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch import handlers
from services.dispatch.api.common import (
    AttachmentReader,
    UnitHandler,
    act,
    context,
    in_transaction,
    role_of,
)
from services.dispatch.api.present import attachment_out, detail, extension_out
from services.dispatch.handlers import DispatchContext, decode_base64
from services.dispatch.schemas import (
    AttachmentIn,
    AttachmentOut,
    ContactIn,
    ExtensionIn,
    ExtensionOut,
    ReplyIn,
    ReturnIn,
    TicketDetail,
    Versioned,
)
from services.dispatch.store import AttachmentRecord
from shared.auth import SecureRouter
from shared.http.deps import Session
from shared.http.errors import ApiError
from shared.http.responses import download
from shared.storage import ALLOWED_MEDIA_TYPES

router = SecureRouter(prefix="/api/v1")

# the download is the stored bytes in their own media type
ATTACHMENT_CONTENT = {media: {"schema": {"type": "string", "format": "binary"}} for media in ALLOWED_MEDIA_TYPES}


@router.post("/tickets/{ticket_id}/accept", response_model=TicketDetail, tags=["unit"])
async def accept(
    ticket_id: str, request: Request, session: Session, principal: UnitHandler, body: Versioned | None = None
) -> TicketDetail:
    expected = body.expected_version if body is not None else None

    return await act(
        request, session, ticket_id, lambda session, ctx: handlers.accept(session, ctx, principal, ticket_id, expected)
    )


@router.post("/tickets/{ticket_id}/contact", response_model=TicketDetail, tags=["unit"])
async def contact(
    ticket_id: str, body: ContactIn, request: Request, session: Session, principal: UnitHandler
) -> TicketDetail:
    return await act(
        request,
        session,
        ticket_id,
        lambda session, ctx: handlers.record_contact(
            session,
            ctx,
            principal,
            ticket_id,
            method=body.method,
            contacted_at=body.contacted_at,
            appointment_at=body.appointment_at,
            note=body.note,
            expected_version=body.expected_version,
        ),
    )


@router.post("/tickets/{ticket_id}/return", response_model=TicketDetail, tags=["unit"])
async def return_ticket(
    ticket_id: str, body: ReturnIn, request: Request, session: Session, principal: UnitHandler
) -> TicketDetail:
    return await act(
        request,
        session,
        ticket_id,
        lambda session, ctx: handlers.return_ticket(
            session,
            ctx,
            principal,
            ticket_id,
            reason=body.reason,
            reason_text=body.reason_text,
            expected_version=body.expected_version,
        ),
    )


@router.post("/tickets/{ticket_id}/extensions", response_model=ExtensionOut, status_code=201, tags=["unit"])
async def request_extension(
    ticket_id: str, body: ExtensionIn, request: Request, session: Session, principal: UnitHandler
) -> ExtensionOut:
    async def work(session: AsyncSession, ctx: DispatchContext) -> ExtensionOut:
        extension = await handlers.request_extension(
            session,
            ctx,
            principal,
            ticket_id,
            clock=body.clock,
            requested_deadline=body.requested_deadline,
            reason_text=body.reason_text,
            expected_version=body.expected_version,
        )
        return extension_out(extension)

    return await in_transaction(request, session, ticket_id, work)


@router.post("/tickets/{ticket_id}/attachments", response_model=AttachmentOut, status_code=201, tags=["unit"])
async def upload_attachment(
    ticket_id: str, body: AttachmentIn, request: Request, session: Session, principal: UnitHandler
) -> AttachmentOut:
    """A photo or receipt (JPEG, PNG, WebP, PDF; size-limited) for the coming reply, as base64 JSON."""
    data = decode_base64(body.content_base64)
    stored: list[AttachmentRecord] = []

    async def work(session: AsyncSession, ctx: DispatchContext) -> AttachmentOut:
        record = await handlers.add_attachment(
            session, ctx, principal, ticket_id, filename=body.filename, media_type=body.media_type, data=data
        )
        stored.append(record)
        return attachment_out(record)

    try:
        return await in_transaction(request, session, ticket_id, work)
    except Exception:
        storage = context(request).storage
        for record in stored:  # the row did not commit: leave no orphan file behind
            if storage is not None:
                await storage.delete(record.storage_key)
        raise


@router.get(
    "/tickets/{ticket_id}/attachments/{attachment_id}",
    tags=["unit", "center"],
    response_class=Response,
    responses={200: {"description": "the file as stored", "content": ATTACHMENT_CONTENT}},
)
async def download_attachment(
    ticket_id: str, attachment_id: str, request: Request, session: Session, principal: AttachmentReader
) -> Response:
    ctx = context(request)
    await handlers.ticket_for(session, principal, ticket_id)
    record = await session.get(AttachmentRecord, attachment_id)
    if record is None or record.ticket_id != ticket_id or ctx.storage is None:
        raise ApiError(404, f"attachment {attachment_id} not found")
    data = await ctx.storage.get(record.storage_key)
    return download(data, record.media_type, record.attachment_id)


@router.post("/tickets/{ticket_id}/reply", response_model=TicketDetail, tags=["unit"])
async def reply(
    ticket_id: str, body: ReplyIn, request: Request, session: Session, principal: UnitHandler
) -> TicketDetail:
    async def work(session: AsyncSession, ctx: DispatchContext) -> TicketDetail:
        await handlers.reply(
            session,
            ctx,
            principal,
            ticket_id,
            result=body.result,
            opinion=body.opinion,
            attachment_ids=body.attachment_ids,
            expected_version=body.expected_version,
            refused=body.refused,
        )
        ticket = await handlers.ticket_for(session, principal, ticket_id)
        return await detail(session, ctx, ticket, role_of(request))

    return await in_transaction(request, session, ticket_id, work)
