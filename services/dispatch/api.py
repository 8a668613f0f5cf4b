"""The dispatch HTTP API: the unit's inbox and actions, the center's review and queue, the org admin."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Query, Request
from fastapi.responses import Response
from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from starlette.responses import JSONResponse

from services.dispatch import handlers
from services.dispatch.clocks import ticket_clocks
from services.dispatch.handlers import Correction, DispatchContext, decode_base64
from services.dispatch.lifecycle import IllegalTransition, StaleVersion, Status, allowed_actions
from services.dispatch.routing import (
    OrgConfigError,
    OrgTree,
    RoutingInput,
    describe_rule,
    route,
    rule_from_mapping,
    validate_org,
)
from services.dispatch.schemas import (
    AttachmentIn,
    AttachmentOut,
    ClockOut,
    ContactIn,
    DispatchIn,
    DivisionIn,
    DivisionOut,
    ExtensionDecisionIn,
    ExtensionIn,
    ExtensionOut,
    FlagIn,
    FlagOut,
    HistoryEntry,
    OrgOut,
    ReasonIn,
    ReplyIn,
    ReplyOut,
    ReturnIn,
    ReviewIn,
    RouteDecisionOut,
    RoutePreviewIn,
    RuleIn,
    TicketDetail,
    TicketSummary,
    UnitIn,
    UnitOut,
    Versioned,
)
from services.dispatch.store import (
    AttachmentRecord,
    AuditRecord,
    Extension,
    Flag,
    OrgNode,
    Outbox,
    Reply,
    RuleRow,
    Ticket,
    load_org,
)
from shared.auth import AuditLog, Principal, RevealRequest, Role, SecureRouter, require_roles, reveal_field
from shared.db import transaction
from shared.http.errors import ApiError, error_body
from shared.http.ratelimit import rate_limited
from shared.http.responses import OrgJSONResponse
from shared.policy.priority import inbox_order
from shared.privacy import PersonalField
from shared.storage import ALLOWED_MEDIA_TYPES

T = TypeVar("T")
AUDIT = AuditLog(AuditRecord, service="dispatch")

UnitHandler = Annotated[Principal, require_roles(Role.UNIT_HANDLER)]
Center = Annotated[Principal, require_roles(Role.CENTER_SUPERVISOR)]
Supervisor = Annotated[Principal, require_roles(Role.CENTER_SUPERVISOR, Role.DIVISION_SUPERVISOR)]
TicketReader = Annotated[
    Principal, require_roles(Role.UNIT_HANDLER, Role.CENTER_SUPERVISOR, Role.DIVISION_SUPERVISOR, Role.ADMIN)
]
# the unit's photos and receipts: also for the center's agents, who call the customer back about the reply
AttachmentReader = Annotated[
    Principal,
    require_roles(Role.AGENT, Role.UNIT_HANDLER, Role.CENTER_SUPERVISOR, Role.DIVISION_SUPERVISOR, Role.ADMIN),
]
OrgReader = Annotated[
    Principal,
    require_roles(
        Role.AGENT, Role.UNIT_HANDLER, Role.DIVISION_SUPERVISOR, Role.CENTER_SUPERVISOR, Role.ADMIN, Role.INTEGRATION
    ),
]
Admin = Annotated[Principal, require_roles(Role.ADMIN)]
Router = Annotated[Principal, require_roles(Role.ADMIN, Role.CENTER_SUPERVISOR, Role.AGENT)]


# --------------------------------------------------------------------------- plumbing


def _in_scope(principal: Principal) -> ColumnElement[bool]:
    columns = Ticket.__table__.c
    return principal.scope.where(columns.branch, columns.unit_id, columns.division_id)


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return sessions


# the download is the stored bytes in their own media type
ATTACHMENT_CONTENT = {media: {"schema": {"type": "string", "format": "binary"}} for media in ALLOWED_MEDIA_TYPES}


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for routes built from shared routers (the auditors' `GET /api/v1/audit`)."""
    async with _sessions(request)() as session:
        yield session


def _context(request: Request) -> DispatchContext:
    ctx: DispatchContext = request.app.state.dispatch
    return ctx


async def _current(request: Request, ticket_id: str) -> StaleVersion:
    async with _sessions(request)() as session:
        ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise ApiError(404, f"ticket {ticket_id} not found")
    return StaleVersion(ticket.state, ticket.version)


async def _in_transaction(
    request: Request, ticket_id: str | None, work: Callable[[AsyncSession, DispatchContext], Awaitable[T]]
) -> T:
    """One unit of work; a concurrent change of the same ticket becomes a 409 (one wins, one loses)."""
    ctx = _context(request)
    try:
        async with transaction(_sessions(request)) as session:
            result = await work(session, ctx)
    except StaleDataError:
        if ticket_id is None:
            raise
        raise await _current(request, ticket_id) from None
    except OperationalError as error:
        # SQLite: a write on a snapshot another writer has moved past; the same race, the same answer
        if ticket_id is None or "locked" not in str(error).lower():
            raise
        raise await _current(request, ticket_id) from None
    relay = getattr(request.app.state, "relay", None)
    if relay is not None:
        relay.notify()
    return result


async def _act(
    request: Request, ticket_id: str, action: Callable[[AsyncSession, DispatchContext], Awaitable[Ticket]]
) -> TicketDetail:
    """A ticket action in one transaction, answered with the ticket as it now stands."""

    async def work(session: AsyncSession, ctx: DispatchContext) -> TicketDetail:
        return await _detail(session, ctx, await action(session, ctx), _role(request))

    return await _in_transaction(request, ticket_id, work)


def _role(request: Request) -> Role:
    """The caller's role (shared.auth put the principal on the request): `allowed_actions` are its own."""
    principal: Principal = request.state.principal
    return principal.role


def conflict_response(exc: IllegalTransition | StaleVersion, role: Role | None = None) -> JSONResponse:
    """409 with the ticket's current status, version and the actions allowed now (to `role` when given)."""
    code = "illegal_transition" if isinstance(exc, IllegalTransition) else "version_conflict"
    body = error_body(code, str(exc))
    body["error"]["current_status"] = exc.current.value
    body["error"]["allowed_actions"] = [a.value for a in allowed_actions(exc.current, role)]
    if exc.version is not None:
        body["error"]["version"] = exc.version
    return JSONResponse(body, status_code=409)


async def conflict_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IllegalTransition | StaleVersion)
    principal: Principal | None = getattr(request.state, "principal", None)
    return conflict_response(exc, principal.role if principal is not None else None)


def _clocks(ticket: Ticket, extensions: Sequence[Extension], ctx: DispatchContext) -> list[ClockOut]:
    now = ctx.clock.now()
    return [
        ClockOut(
            clock=v.clock,
            started_at=v.started_at,
            deadline=v.deadline,
            running=v.running,
            stopped_at=v.stopped_at,
            remaining_seconds=v.remaining_seconds,
            overdue=(v.remaining_seconds is not None and v.remaining_seconds < 0)
            or (v.stopped_at is not None and v.stopped_at > v.deadline),
            provisional=v.provisional,
            extended=v.extended,
        )
        for v in ticket_clocks(ticket, now, ctx.calendar, extensions=extensions)
    ]


def _summary_fields(ticket: Ticket, clocks: list[ClockOut], role: Role) -> dict[str, Any]:
    running = [c.deadline for c in clocks if c.running]
    return {
        "ticket_id": ticket.ticket_id,
        "ticket_number": ticket.ticket_number,
        "branch": ticket.branch,
        "status": ticket.status,
        "version": ticket.version,
        "category": ticket.category,
        "subtype": ticket.subtype,
        "complaint_level": ticket.complaint_level,
        "unit_id": ticket.unit_id,
        "division_id": ticket.division_id,
        "district": ticket.district,
        "community": ticket.community,
        "received_at": ticket.received_at,
        "dispatched_at": ticket.dispatched_at,
        "nearest_deadline": min(running) if running else None,
        "key_customer": ticket.key_customer,
        "hazardous": ticket.hazardous,
        "urgent": ticket.urgent,
        "supervision_flagged": ticket.supervision_flagged,
        "clocks": clocks,
        "allowed_actions": [a.value for a in allowed_actions(ticket.state, role)],
    }


async def _extensions_of(session: AsyncSession, ticket_ids: Sequence[str]) -> dict[str, list[Extension]]:
    found: dict[str, list[Extension]] = {t: [] for t in ticket_ids}
    if ticket_ids:
        for ext in await session.scalars(select(Extension).where(Extension.ticket_id.in_(ticket_ids))):
            found[ext.ticket_id].append(ext)
    return found


async def _summaries(
    session: AsyncSession, ctx: DispatchContext, tickets: Sequence[Ticket], role: Role
) -> list[TicketSummary]:
    extensions = await _extensions_of(session, [t.ticket_id for t in tickets])
    out = [TicketSummary(**_summary_fields(t, _clocks(t, extensions[t.ticket_id], ctx), role)) for t in tickets]
    # RULES.md §9: nearest deadline first; then priority (hazard, urgency, key customer); then age
    out.sort(
        key=lambda s: inbox_order(
            nearest_deadline=s.nearest_deadline,
            hazardous=s.hazardous,
            urgent=s.urgent,
            key_customer=s.key_customer,
            received_at=s.received_at,
        )
    )
    return out


async def _detail(session: AsyncSession, ctx: DispatchContext, ticket: Ticket, role: Role) -> TicketDetail:
    await session.flush()
    extensions = list(await session.scalars(select(Extension).where(Extension.ticket_id == ticket.ticket_id)))
    replies = list(
        await session.scalars(select(Reply).where(Reply.ticket_id == ticket.ticket_id).order_by(Reply.submitted_at))
    )
    attachments = list(
        await session.scalars(
            select(AttachmentRecord)
            .where(AttachmentRecord.ticket_id == ticket.ticket_id)
            .order_by(AttachmentRecord.uploaded_at)
        )
    )
    flags = list(await session.scalars(select(Flag).where(Flag.ticket_id == ticket.ticket_id).order_by(Flag.at)))
    by_reply: dict[str, list[str]] = {}
    for a in attachments:
        if a.reply_id:
            by_reply.setdefault(a.reply_id, []).append(a.attachment_id)
    return TicketDetail(
        **_summary_fields(ticket, _clocks(ticket, extensions, ctx), role),
        description=ticket.description,
        customer_name=ticket.customer_name,
        customer_phone=ticket.customer_phone,
        customer_address=ticket.customer_address,
        channel=ticket.channel,
        handler_id=ticket.handler_id,
        dispatch_count=ticket.dispatch_count,
        dispatch_mode=ticket.dispatch_mode,
        rule_id=ticket.rule_id,
        previous_unit_id=ticket.previous_unit_id,
        queue_reason=ticket.queue_reason,
        queue_detail=ticket.queue_detail,
        return_reason=ticket.return_reason,
        return_text=ticket.return_text,
        return_count=ticket.return_count,
        returns_by_unit=ticket.returns_by_unit or {},
        close_reason=ticket.close_reason,
        close_text=ticket.close_text,
        work_round=ticket.work_round,
        replies=[
            ReplyOut(
                reply_id=r.reply_id,
                unit_id=r.unit_id,
                handler_id=r.handler_id,
                result=r.result,
                opinion=r.opinion,
                submitted_at=r.submitted_at,
                status=r.status,
                reviewer_id=r.reviewer_id,
                review_reason=r.review_reason,
                review_text=r.review_text,
                attachment_ids=by_reply.get(r.reply_id, []),
                refused=r.refused,
            )
            for r in replies
        ],
        extensions=[_extension_out(e) for e in extensions],
        attachments=[_attachment_out(a) for a in attachments],
        flags=[
            FlagOut(
                flag_id=f.flag_id,
                kind=f.kind,
                supervisor_id=f.supervisor_id,
                org_level=f.org_level,
                note=f.note,
                at=f.at,
            )
            for f in flags
        ],
    )


def _extension_out(e: Extension) -> ExtensionOut:
    return ExtensionOut(
        request_id=e.request_id,
        ticket_id=e.ticket_id,
        unit_id=e.unit_id,
        clock=e.clock,
        current_deadline=e.current_deadline,
        requested_deadline=e.requested_deadline,
        reason_text=e.reason_text,
        status=e.status,
        new_deadline=e.new_deadline,
        decided_by=e.decided_by,
    )


def _attachment_out(a: AttachmentRecord) -> AttachmentOut:
    return AttachmentOut(
        attachment_id=a.attachment_id,
        ticket_id=a.ticket_id,
        media_type=a.media_type,
        size_bytes=a.size_bytes,
        filename=a.filename,
        sha256=a.sha256,
        reply_id=a.reply_id,
    )


# --------------------------------------------------------------------------- routers


def build_router() -> SecureRouter:
    """Every route of the dispatch API; each declares its roles (shared.auth)."""
    router = SecureRouter(prefix="/api/v1")

    # ---------------------------------------------------------------- reading

    @router.get("/unit/inbox", response_model=list[TicketSummary], tags=["unit"])
    async def unit_inbox(request: Request, principal: UnitHandler) -> list[TicketSummary]:
        """The unit's open tickets, nearest deadline first, with each clock's remaining time."""
        ctx = _context(request)
        async with _sessions(request)() as session:
            tickets = list(
                await session.scalars(
                    select(Ticket).where(
                        _in_scope(principal),
                        Ticket.status.in_([Status.DISPATCHED.value, Status.ACCEPTED.value]),
                    )
                )
            )
            return await _summaries(session, ctx, tickets, _role(request))

    @router.get("/tickets", response_model=list[TicketSummary], tags=["center"])
    async def list_tickets(
        request: Request,
        principal: TicketReader,
        status: Annotated[list[Status] | None, Query()] = None,
        unit_id: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[TicketSummary]:
        """Tickets in the caller's scope (branch, division or unit), filtered by status and unit."""
        ctx = _context(request)
        query = select(Ticket).where(_in_scope(principal))
        if status:
            query = query.where(Ticket.status.in_([s.value for s in status]))
        if unit_id:
            query = query.where(Ticket.unit_id == unit_id)
        query = query.order_by(Ticket.received_at.desc()).limit(limit)
        async with _sessions(request)() as session:
            return await _summaries(session, ctx, list(await session.scalars(query)), _role(request))

    @router.get("/tickets/{ticket_id}", response_model=TicketDetail, tags=["unit", "center"])
    async def read_ticket(ticket_id: str, request: Request, principal: TicketReader) -> TicketDetail:
        async with _sessions(request)() as session:
            ticket = await handlers.ticket_for(session, principal, ticket_id)
            return await _detail(session, _context(request), ticket, _role(request))

    @router.get("/tickets/{ticket_id}/history", response_model=list[HistoryEntry], tags=["unit", "center"])
    async def ticket_history(ticket_id: str, request: Request, principal: TicketReader) -> list[HistoryEntry]:
        """The events dispatch emitted for this ticket, in order."""
        async with _sessions(request)() as session:
            await handlers.ticket_for(session, principal, ticket_id)
            rows = await session.execute(
                select(Outbox.event_id, Outbox.event_type, Outbox.topic, Outbox.created_at)
                .where(Outbox.key == ticket_id.encode())
                .order_by(Outbox.id)
            )
            return [
                HistoryEntry(event_id=str(r.event_id), type=r.event_type, topic=r.topic, created_at=r.created_at)
                for r in rows
            ]

    @router.post("/tickets/{ticket_id}/reveal", tags=["unit"], dependencies=[rate_limited("reveal")])
    async def reveal(ticket_id: str, body: RevealRequest, request: Request, principal: UnitHandler) -> Response:
        """The customer's name, phone or address in clear for the unit holding the ticket, audited (RULES.md §6)."""
        ctx = _context(request)
        async with _sessions(request)() as session:
            ticket = await session.get(Ticket, ticket_id)
            if ticket is None:
                raise ApiError(404, f"ticket {ticket_id} not found")
            values = {
                PersonalField.NAME: ticket.customer_name,
                PersonalField.PHONE: ticket.customer_phone,
                PersonalField.ADDRESS: ticket.customer_address,
            }
            return await reveal_field(
                session,
                audit=AUDIT,
                principal=principal,
                ticket=ticket.ref(),
                request=body,
                value=values.get(body.field),
                now=ctx.clock.now(),
            )

    # ---------------------------------------------------------------- unit actions

    @router.post("/tickets/{ticket_id}/accept", response_model=TicketDetail, tags=["unit"])
    async def accept(
        ticket_id: str, request: Request, principal: UnitHandler, body: Versioned | None = None
    ) -> TicketDetail:
        expected = body.expected_version if body is not None else None

        return await _act(
            request, ticket_id, lambda session, ctx: handlers.accept(session, ctx, principal, ticket_id, expected)
        )

    @router.post("/tickets/{ticket_id}/contact", response_model=TicketDetail, tags=["unit"])
    async def contact(ticket_id: str, body: ContactIn, request: Request, principal: UnitHandler) -> TicketDetail:
        return await _act(
            request,
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
    async def return_ticket(ticket_id: str, body: ReturnIn, request: Request, principal: UnitHandler) -> TicketDetail:
        return await _act(
            request,
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
        ticket_id: str, body: ExtensionIn, request: Request, principal: UnitHandler
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
            return _extension_out(extension)

        return await _in_transaction(request, ticket_id, work)

    @router.post("/tickets/{ticket_id}/attachments", response_model=AttachmentOut, status_code=201, tags=["unit"])
    async def upload_attachment(
        ticket_id: str, body: AttachmentIn, request: Request, principal: UnitHandler
    ) -> AttachmentOut:
        """A photo or receipt (JPEG, PNG, WebP, PDF; size-limited) for the coming reply, as base64 JSON."""
        data = decode_base64(body.content_base64)
        stored: list[AttachmentRecord] = []

        async def work(session: AsyncSession, ctx: DispatchContext) -> AttachmentOut:
            record = await handlers.add_attachment(
                session, ctx, principal, ticket_id, filename=body.filename, media_type=body.media_type, data=data
            )
            stored.append(record)
            return _attachment_out(record)

        try:
            return await _in_transaction(request, ticket_id, work)
        except Exception:
            storage = _context(request).storage
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
        ticket_id: str, attachment_id: str, request: Request, principal: AttachmentReader
    ) -> Response:
        ctx = _context(request)
        async with _sessions(request)() as session:
            await handlers.ticket_for(session, principal, ticket_id)
            record = await session.get(AttachmentRecord, attachment_id)
        if record is None or record.ticket_id != ticket_id or ctx.storage is None:
            raise ApiError(404, f"attachment {attachment_id} not found")
        data = await ctx.storage.get(record.storage_key)
        return Response(
            data,
            media_type=record.media_type,
            headers={"Content-Disposition": f'attachment; filename="{record.attachment_id}"'},
        )

    @router.post("/tickets/{ticket_id}/reply", response_model=TicketDetail, tags=["unit"])
    async def reply(ticket_id: str, body: ReplyIn, request: Request, principal: UnitHandler) -> TicketDetail:
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
            return await _detail(session, ctx, ticket, _role(request))

        return await _in_transaction(request, ticket_id, work)

    # ---------------------------------------------------------------- center

    @router.get("/center/queue", response_model=list[TicketSummary], tags=["center"])
    async def manual_queue(request: Request, principal: Center) -> list[TicketSummary]:
        """Tickets waiting for the center: unroutable ones and returns, nearest dispatch deadline first."""
        async with _sessions(request)() as session:
            tickets = list(
                await session.scalars(
                    select(Ticket).where(
                        Ticket.branch == principal.branch,
                        Ticket.status.in_([Status.QUEUED.value, Status.RETURNED.value]),
                    )
                )
            )
            return await _summaries(session, _context(request), tickets, _role(request))

    @router.get("/center/reviews", response_model=list[TicketSummary], tags=["center"])
    async def reviews(request: Request, principal: Center) -> list[TicketSummary]:
        async with _sessions(request)() as session:
            tickets = list(
                await session.scalars(
                    select(Ticket).where(Ticket.branch == principal.branch, Ticket.status == Status.REPLIED.value)
                )
            )
            return await _summaries(session, _context(request), tickets, _role(request))

    @router.get("/center/extensions", response_model=list[ExtensionOut], tags=["center"])
    async def pending_extensions(request: Request, principal: Center) -> list[ExtensionOut]:
        async with _sessions(request)() as session:
            rows = await session.scalars(
                select(Extension)
                .where(Extension.branch == principal.branch, Extension.status == "pending")
                .order_by(Extension.current_deadline)
            )
            return [_extension_out(e) for e in rows]

    @router.post("/tickets/{ticket_id}/dispatch", response_model=TicketDetail, tags=["center"])
    async def dispatch(ticket_id: str, body: DispatchIn, request: Request, principal: Center) -> TicketDetail:
        """Dispatch by hand (manual queue), or correct and re-dispatch (after a return or a mistake)."""
        correction = Correction(body.category, body.subtype, body.district, body.community)

        return await _act(
            request,
            ticket_id,
            lambda session, ctx: handlers.dispatch_by_hand(
                session,
                ctx,
                principal,
                ticket_id,
                unit_id=body.unit_id,
                correction=correction,
                expected_version=body.expected_version,
            ),
        )

    @router.post("/tickets/{ticket_id}/review", response_model=TicketDetail, tags=["center"])
    async def review(ticket_id: str, body: ReviewIn, request: Request, principal: Center) -> TicketDetail:
        return await _act(
            request,
            ticket_id,
            lambda session, ctx: handlers.review_reply(
                session,
                ctx,
                principal,
                ticket_id,
                approve=body.decision == "approve",
                reason=body.reason,
                reason_text=body.reason_text,
                expected_version=body.expected_version,
            ),
        )

    @router.post("/tickets/{ticket_id}/refuse-return", response_model=TicketDetail, tags=["center"])
    async def refuse_return(ticket_id: str, body: ReasonIn, request: Request, principal: Center) -> TicketDetail:
        return await _act(
            request,
            ticket_id,
            lambda session, ctx: handlers.refuse_return(
                session, ctx, principal, ticket_id, reason_text=body.reason_text, expected_version=body.expected_version
            ),
        )

    @router.post("/tickets/{ticket_id}/close", response_model=TicketDetail, tags=["center"])
    async def close(ticket_id: str, body: ReasonIn, request: Request, principal: Center) -> TicketDetail:
        return await _act(
            request,
            ticket_id,
            lambda session, ctx: handlers.close_by_center(
                session, ctx, principal, ticket_id, reason_text=body.reason_text, expected_version=body.expected_version
            ),
        )

    @router.post("/tickets/{ticket_id}/extensions/{request_id}/decision", response_model=ExtensionOut, tags=["center"])
    async def decide_extension(
        ticket_id: str, request_id: str, body: ExtensionDecisionIn, request: Request, principal: Center
    ) -> ExtensionOut:
        async def work(session: AsyncSession, ctx: DispatchContext) -> ExtensionOut:
            extension = await handlers.decide_extension(
                session,
                ctx,
                principal,
                ticket_id,
                request_id,
                grant=body.decision == "grant",
                new_deadline=body.new_deadline,
                reason_text=body.reason_text,
                expected_version=body.expected_version,
            )
            return _extension_out(extension)

        return await _in_transaction(request, ticket_id, work)

    @router.post("/tickets/{ticket_id}/flags", response_model=FlagOut, status_code=201, tags=["center"])
    async def flag(ticket_id: str, body: FlagIn, request: Request, principal: Supervisor) -> FlagOut:
        """A supervision flag (督办) or a spot-check mark with a note (center or division supervisors)."""

        async def work(session: AsyncSession, ctx: DispatchContext) -> FlagOut:
            entry = await handlers.flag_ticket(session, ctx, principal, ticket_id, kind=body.kind, note=body.note)
            return FlagOut(
                flag_id=entry.flag_id,
                kind=entry.kind,
                supervisor_id=entry.supervisor_id,
                org_level=entry.org_level,
                note=entry.note,
                at=entry.at,
            )

        return await _in_transaction(request, ticket_id, work)

    # ---------------------------------------------------------------- org tree and routing

    @router.get("/org", response_model=OrgOut, response_class=OrgJSONResponse, tags=["org"])
    async def read_org(request: Request, principal: OrgReader) -> OrgOut:
        """The caller's branch: center, divisions, units (agents pick the unit from here) and rules."""
        async with _sessions(request)() as session:
            org = await load_org(session, principal.branch)
        if org is None:
            raise ApiError(404, f"branch {principal.branch} has no org tree")
        return _org_out(org)

    @router.post("/org/route-preview", response_model=RouteDecisionOut, tags=["org"])
    async def route_preview(body: RoutePreviewIn, request: Request, principal: Router) -> RouteDecisionOut:
        """Which unit the rules would choose for a request (nothing is dispatched)."""
        async with _sessions(request)() as session:
            org = await load_org(session, principal.branch)
        if org is None:
            raise ApiError(404, f"branch {principal.branch} has no org tree")
        decision = route(
            RoutingInput(body.category, body.subtype, body.district, body.community, body.address, body.unit_id), org
        )
        return RouteDecisionOut(
            routed=decision.routed,
            unit_id=decision.unit_id,
            division_id=decision.division_id,
            rule_id=decision.rule_id,
            unroutable=decision.unroutable,
            detail=decision.detail,
            candidates=list(decision.candidates),
        )

    @router.put(
        "/admin/org/divisions/{division_id}", response_model=OrgOut, response_class=OrgJSONResponse, tags=["admin"]
    )
    async def put_division(division_id: str, body: DivisionIn, request: Request, principal: Admin) -> OrgOut:
        async def work(session: AsyncSession, ctx: DispatchContext) -> OrgOut:
            org = await _org_or_404(session, principal.branch)
            node = await session.get(OrgNode, (principal.branch, division_id))
            if node is not None and node.kind != "division":
                raise _bad("division_id", f"{division_id!r} is a {node.kind}")
            if node is None:
                node = OrgNode(branch=principal.branch, node_id=division_id, kind="division", parent_id=org.center_id)
                session.add(node)
            node.name, node.active = body.name, body.active
            return await _org_after_edit(session, principal.branch)

        return await _in_transaction(request, None, work)

    @router.put("/admin/org/units/{unit_id}", response_model=OrgOut, response_class=OrgJSONResponse, tags=["admin"])
    async def put_unit(unit_id: str, body: UnitIn, request: Request, principal: Admin) -> OrgOut:
        async def work(session: AsyncSession, ctx: DispatchContext) -> OrgOut:
            org = await _org_or_404(session, principal.branch)
            if body.division_id not in org.divisions:
                raise _bad("division_id", f"unknown division {body.division_id!r}")
            node = await session.get(OrgNode, (principal.branch, unit_id))
            if node is not None and node.kind != "unit":
                raise _bad("unit_id", f"{unit_id!r} is a {node.kind}")
            if node is None:
                node = OrgNode(branch=principal.branch, node_id=unit_id, kind="unit")
                session.add(node)
            node.name, node.parent_id, node.duty_phone, node.active = (
                body.name,
                body.division_id,
                body.duty_phone,
                body.active,
            )
            return await _org_after_edit(session, principal.branch)

        return await _in_transaction(request, None, work)

    @router.put("/admin/org/rules/{rule_id}", response_model=OrgOut, response_class=OrgJSONResponse, tags=["admin"])
    async def put_rule(rule_id: str, body: RuleIn, request: Request, principal: Admin) -> OrgOut:
        async def work(session: AsyncSession, ctx: DispatchContext) -> OrgOut:
            await _org_or_404(session, principal.branch)
            definition = body.model_dump(mode="json", exclude={"position"})
            try:
                rule = rule_from_mapping(rule_id, definition)
            except OrgConfigError as error:
                raise _bad(error.field.rsplit(".", 1)[-1], error.message) from None
            row = await session.get(RuleRow, (principal.branch, rule_id))
            if row is None:
                last = await session.scalar(
                    select(func.max(RuleRow.position)).where(RuleRow.branch == principal.branch)
                )
                row = RuleRow(branch=principal.branch, rule_id=rule_id, position=(last or 0) + 1)
                session.add(row)
            if body.position is not None:
                row.position = body.position
            row.definition = dict(describe_rule(rule))
            return await _org_after_edit(session, principal.branch)

        return await _in_transaction(request, None, work)

    @router.delete("/admin/org/rules/{rule_id}", response_model=OrgOut, response_class=OrgJSONResponse, tags=["admin"])
    async def delete_rule(rule_id: str, request: Request, principal: Admin) -> OrgOut:
        async def work(session: AsyncSession, ctx: DispatchContext) -> OrgOut:
            result = await session.execute(
                delete(RuleRow).where(RuleRow.branch == principal.branch, RuleRow.rule_id == rule_id)
            )
            if not getattr(result, "rowcount", 0):
                raise ApiError(404, f"rule {rule_id} not found")
            return await _org_after_edit(session, principal.branch)

        return await _in_transaction(request, None, work)

    return router


def _bad(field_name: str, message: str) -> ApiError:
    return ApiError(422, message, fields=[{"field": field_name, "message": message}])


async def _org_or_404(session: AsyncSession, branch: str) -> OrgTree:
    org = await load_org(session, branch)
    if org is None:
        raise ApiError(404, f"branch {branch} has no org tree")
    return org


async def _org_after_edit(session: AsyncSession, branch: str) -> OrgOut:
    """The edited tree must still hold together (every rule names a unit, every unit a division)."""
    await session.flush()
    org = await _org_or_404(session, branch)
    try:
        validate_org(org)
    except OrgConfigError as error:
        raise _bad(error.field, error.message) from None
    return _org_out(org)


def _org_out(org: OrgTree) -> OrgOut:
    divisions = [
        DivisionOut(
            division_id=d.division_id,
            name=d.name,
            active=d.active,
            units=[
                UnitOut(unit_id=u.unit_id, name=u.name, division_id=u.division_id, active=u.active)
                for u in org.units.values()
                if u.division_id == d.division_id
            ],
        )
        for d in org.divisions.values()
    ]
    return OrgOut(
        branch=org.branch,
        center_id=org.center_id,
        center_name=org.center_name,
        divisions=divisions,
        rules=[dict(describe_rule(r)) for r in org.rules],
    )
