"""The customer's self-service API (issue 21 part 3), called by the console's customer pages.

Open routes (a customer has no staff token): a code is asked for a phone, traded for a customer session, and
the session (header `X-Customer-Session`) reaches only that phone's own tickets. Personal data stays masked.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import Header, Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.outbound import self_service as ss
from services.outbound.intake_client import IntakeRefused
from services.outbound.schemas import (
    CodeRequest,
    CodeSentPublic,
    CodeTry,
    CustomerRequestIn,
    CustomerSignedIn,
    OwnTicketDetail,
    OwnTicketSummary,
    RatingIn,
    StepPublic,
)
from shared.auth import SecureRouter
from shared.auth.deps import public
from shared.branch_config import is_configured_branch
from shared.http.errors import ApiError
from shared.http.openapi import answers
from shared.http.ratelimit import limiter_of

CustomerToken = Annotated[str | None, Header(alias="X-Customer-Session", max_length=200)]
IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=128)]


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return sessions


def _ctx(request: Request) -> ss.SelfServiceContext:
    ctx: ss.SelfServiceContext = request.app.state.self_service
    return ctx


def _refused(error: ss.SelfServiceError) -> ApiError:
    facts = {k: str(v) for k, v in error.facts.items()}
    return ApiError(
        error.status,
        error.message,
        code=error.code,
        fields=[{"field": error.field, "message": error.message, **facts}],
        headers={"Retry-After": facts["seconds"]} if "seconds" in facts else None,
    )


def customer_address(request: Request) -> str:
    """The client a code request comes from: the browser's address the console forwards, else the caller's own."""
    caller = request.client.host if request.client else "unknown"
    trusted: tuple[str, ...] = getattr(request.app.state, "trusted_proxies", ())
    forwarded = request.headers.get("x-customer-address", "").strip()
    return f"ip:{forwarded[:64] if forwarded and caller in trusted else caller}"


def _per_client(request: Request, category: str, branch: str | None) -> None:
    """429 with Retry-After when this client used up its codes or tries, whatever the phones (issue 21)."""
    limiter = limiter_of(request)
    wait = limiter.hit(category, customer_address(request), branch=branch) if limiter is not None else None
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        field = "phone" if category == "code_request" else "code"
        message = f"too many {'codes asked' if field == 'phone' else 'codes tried'} from here: wait {seconds} s"
        raise ApiError(
            429,
            message,
            code="too_many_requests",
            fields=[{"field": field, "message": message, "seconds": str(seconds)}],
            headers={"Retry-After": str(seconds)},
        )


def _summary(contact: object) -> OwnTicketSummary:
    return OwnTicketSummary.model_validate(contact, from_attributes=True)


def build_self_service_router() -> SecureRouter:
    router = SecureRouter(prefix="/api/v1/self-service", tags=["self-service"], dependencies=[public()])

    @router.post("/codes", status_code=202, response_model=CodeSentPublic, responses=answers(429))
    async def ask_code(request: Request, body: CodeRequest) -> CodeSentPublic:
        """Send a 6-digit code by SMS to the phone (one a minute, five an hour per phone; per client, code_request)."""
        if not is_configured_branch(body.branch):
            raise ApiError(422, "unknown branch", fields=[{"field": "branch", "message": "unknown branch"}])
        _per_client(request, "code_request", body.branch)
        try:
            async with _sessions(request)() as session, session.begin():
                sent = await ss.send_code(session, _ctx(request), body.branch, body.phone)
        except ss.SelfServiceError as error:
            raise _refused(error) from None
        sender = getattr(request.app.state, "sms_sender", None)
        if sender is not None:
            sender.notify()
        return CodeSentPublic(
            challenge_id=sent.challenge_id,
            expires_at=sent.expires_at,
            resend_after_seconds=sent.resend_after_seconds,
            phone=sent.phone,
        )

    @router.post("/sessions", status_code=201, response_model=CustomerSignedIn, responses=answers(423, 429))
    async def sign_in(request: Request, body: CodeTry) -> CustomerSignedIn:
        """Trade the code for a customer session (5 wrong codes lock it; it expires after 5 minutes)."""
        _per_client(request, "code_check", None)
        async with _sessions(request)() as session:
            try:
                signed = await ss.verify_code(session, _ctx(request), body.challenge_id, body.code)
            except ss.SelfServiceError as error:
                await session.commit()  # a wrong try counts: the lock after 5 must survive the refusal
                raise _refused(error) from None
            await session.commit()
        return CustomerSignedIn(session_token=signed.token, expires_at=signed.expires_at, phone=signed.phone)

    @router.delete("/sessions", status_code=204)
    async def sign_out(request: Request, token: CustomerToken = None) -> None:
        if token:
            async with _sessions(request)() as session, session.begin():
                await ss.sign_out(session, token)

    @router.get("/tickets", response_model=list[OwnTicketSummary], responses=answers(401))
    async def my_tickets(request: Request, token: CustomerToken = None) -> list[OwnTicketSummary]:
        """The signed-in phone's own tickets, newest first."""
        async with _sessions(request)() as session:
            try:
                customer = await ss.customer_of(session, _ctx(request), token)
            except ss.SelfServiceError as error:
                raise _refused(error) from None
            return [_summary(row) for row in await ss.own_tickets(session, customer)]

    @router.get("/tickets/{number}", response_model=OwnTicketDetail, responses=answers(401, 404))
    async def my_ticket(request: Request, number: str, token: CustomerToken = None) -> OwnTicketDetail:
        """One own ticket by number with its steps; another phone's ticket is a 404."""
        async with _sessions(request)() as session:
            try:
                customer = await ss.customer_of(session, _ctx(request), token)
                found = await ss.own_ticket(session, customer, number)
            except ss.SelfServiceError as error:
                raise _refused(error) from None
            return OwnTicketDetail(
                **_summary(found.contact).model_dump(),
                steps=[StepPublic.model_validate(s, from_attributes=True) for s in found.steps],
                rating=found.rating.rating if found.rating else None,
                rating_comment=found.rating.comment if found.rating else None,
                can_rate=found.cannot_rate is None,
            )

    @router.post("/tickets", status_code=201, response_model=OwnTicketSummary, responses=answers(401, 409, 503))
    async def raise_request(
        request: Request, body: CustomerRequestIn, key: IdempotencyKey, token: CustomerToken = None
    ) -> OwnTicketSummary:
        """A repair, service request, complaint or suggestion to intake (channel `web`, the verified phone)."""
        ctx = _ctx(request)
        try:
            async with _sessions(request)() as session:
                customer = await ss.customer_of(session, ctx, token)
            created = await ss.raise_request(ctx, customer, body.intake_body(), key)
        except ss.SelfServiceError as error:
            raise _refused(error) from None
        except IntakeRefused as refusal:
            raise ApiError(refusal.status, refusal.message or "the request is refused", fields=refusal.fields) from None
        for _ in range(2):  # the worker may record the same ticket at the same moment: then read its row
            try:
                async with _sessions(request)() as session, session.begin():
                    return _summary(await ss.remember_ticket(session, ctx, customer, created, body.category))
            except IntegrityError:
                continue
        raise ApiError(503, "the ticket was created; refresh the list to see it")

    @router.post(
        "/tickets/{number}/rating", status_code=201, response_model=OwnTicketSummary, responses=answers(401, 404, 409)
    )
    async def rate(request: Request, number: str, body: RatingIn, token: CustomerToken = None) -> OwnTicketSummary:
        """Rate a closed ticket once, 1-5 (recorded as ServiceRated on hotline.tickets)."""
        try:
            async with _sessions(request)() as session, session.begin():
                customer = await ss.customer_of(session, _ctx(request), token)
                await ss.rate(session, _ctx(request), customer, number, body.rating, body.comment)
                found = await ss.own_ticket(session, customer, number)
                answer = _summary(found.contact)
        except ss.SelfServiceError as error:
            raise _refused(error) from None
        relay = getattr(request.app.state, "relay", None)
        if relay is not None:
            relay.notify()
        return answer

    return router
