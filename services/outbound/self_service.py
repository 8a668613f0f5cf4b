"""Customer self-service use cases (issue 21 part 3): sign-in by SMS code, the customer's own tickets, a new
request through intake (channel `web`), a rating of a finished ticket; and the steps the worker records.

Codes and sessions run on the wall clock (a demo's faster policy clock must not expire a code in seconds).
A code is never logged nor shown: only a salted hash is kept, and the SMS row's text is blanked once used.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.outbound.intake_client import CreatedTicket, IntakeClient, IntakeRefused
from services.outbound.store import (
    CustomerSession,
    CustomerStepRow,
    Outbox,
    ServiceRating,
    SignInCode,
    SmsMessage,
    TicketContact,
)
from shared.clock import Clock, SystemClock
from shared.events import CustomerContacted, Event, Payload, ServiceRated, new_event
from shared.outbox import stage
from shared.policy.self_service import (
    CodeCheck,
    CodePolicy,
    CodeState,
    CustomerStep,
    check_code,
    customer_step,
    may_rate,
    new_code,
    tries_left,
    wait_before_new_code,
)
from shared.privacy import mask_phone
from shared.sms import InvalidPhone, enqueue, mobile_number

log = structlog.get_logger(__name__)

SERVICE = "outbound"
CODES = Counter("hotline_self_service_codes_total", "Self-service sign-in codes", ["result"])
REQUESTS = Counter("hotline_self_service_requests_total", "Requests raised on the self-service page", ["result"])
CODE_TEXT = "【燃气热线】您的验证码是{code}，{minutes}分钟内有效。请勿告诉他人。"
USED_CODE_TEXT = "【燃气热线】验证码（已使用，内容不再保存）"


@dataclass
class SelfServiceContext:
    clock: Clock  # the policy clock: SMS queue, events
    policy: CodePolicy = field(default_factory=CodePolicy)
    wall: Clock = field(default_factory=SystemClock)  # codes and sessions
    intake: IntakeClient | None = None


class SelfServiceError(Exception):
    """A refusal the page shows beside its input: HTTP status, machine code, the field, a message."""

    def __init__(self, status: int, code: str, field_name: str, message: str, **facts: int) -> None:
        super().__init__(message)
        self.status, self.code, self.field, self.message, self.facts = status, code, field_name, message, facts


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def customer_phone(raw: str) -> str:
    try:
        return mobile_number(raw)
    except InvalidPhone:
        raise SelfServiceError(422, "invalid_phone", "phone", "enter an 11-digit mobile number") from None


@dataclass(frozen=True)
class CodeSent:
    challenge_id: str
    expires_at: datetime
    resend_after_seconds: int
    phone: str  # masked


async def send_code(session: AsyncSession, ctx: SelfServiceContext, branch: str, raw_phone: str) -> CodeSent:
    """Queue a new code by SMS unless the phone asked too recently (then 429 with the wait)."""
    phone = customer_phone(raw_phone)
    now = ctx.wall.now()
    earlier = await session.scalars(
        select(SignInCode.created_at).where(SignInCode.branch == branch, SignInCode.phone == phone)
    )
    wait = wait_before_new_code(ctx.policy, list(earlier), now)
    if wait is not None:
        CODES.labels("too_soon").inc()
        seconds = max(1, int(wait.total_seconds() + 0.999))
        raise SelfServiceError(429, "too_soon", "phone", f"wait {seconds} s for a new code", seconds=seconds)
    code, challenge = new_code(ctx.policy), secrets.token_hex(16)
    row = SignInCode(
        id=challenge,
        branch=branch,
        phone=phone,
        code_hash=_digest(challenge, code),
        created_at=now,
        expires_at=now + ctx.policy.lifetime,
        wrong=0,
    )
    session.add(row)
    minutes = int(ctx.policy.lifetime.total_seconds() // 60)
    await enqueue(
        session,
        SmsMessage,
        key=f"code:{challenge}",
        branch=branch,
        phone=phone,
        text=CODE_TEXT.format(code=code, minutes=minutes),
        purpose="sign_in_code",
        now=ctx.clock.now(),
        service=SERVICE,
    )
    CODES.labels("sent").inc()
    log.info("self_service_code_queued", branch=branch, phone=mask_phone(phone), challenge=challenge[:8])
    return CodeSent(challenge, row.expires_at, int(ctx.policy.resend_after.total_seconds()), mask_phone(phone))


@dataclass(frozen=True)
class SignedIn:
    token: str  # to the browser once, never stored
    expires_at: datetime
    phone: str  # masked


async def verify_code(session: AsyncSession, ctx: SelfServiceContext, challenge: str, code: str) -> SignedIn:
    """One try of a code: a session on success; 422 wrong (with the tries left), 423 locked, 410 expired."""
    row = await session.get(SignInCode, challenge, with_for_update=True)
    if row is None:
        raise SelfServiceError(410, "code_expired", "code", "this code has expired: ask for a new one")
    now = ctx.wall.now()
    matches = hmac.compare_digest(row.code_hash, _digest(challenge, code.strip()))
    state = CodeState(expires_at=row.expires_at, wrong=row.wrong, used=row.used_at is not None)
    outcome, row.wrong = check_code(ctx.policy, state, matches, now)
    CODES.labels(outcome.value).inc()
    if outcome is CodeCheck.WRONG:
        left = tries_left(ctx.policy, row.wrong)
        raise SelfServiceError(422, "code_wrong", "code", f"the code is not right: {left} tries left", left=left)
    if outcome is CodeCheck.LOCKED:
        raise SelfServiceError(423, "code_locked", "code", "too many wrong codes: ask for a new one")
    if outcome in (CodeCheck.EXPIRED, CodeCheck.USED):
        raise SelfServiceError(410, "code_expired", "code", "this code has expired: ask for a new one")
    row.used_at = now
    # the code is spent: blank it in the SMS queue too (the center's list of messages never shows it)
    await session.execute(
        update(SmsMessage)
        .where(SmsMessage.message_key == f"code:{challenge}", SmsMessage.state != "queued")
        .values(text=USED_CODE_TEXT)
    )
    token = secrets.token_urlsafe(32)
    expires = now + ctx.policy.session_lifetime
    session.add(
        CustomerSession(
            token_hash=_digest("session", token), branch=row.branch, phone=row.phone, created_at=now, expires_at=expires
        )
    )
    log.info("self_service_signed_in", branch=row.branch, phone=mask_phone(row.phone))
    return SignedIn(token, expires, mask_phone(row.phone))


async def customer_of(session: AsyncSession, ctx: SelfServiceContext, token: str | None) -> CustomerSession:
    row = await session.get(CustomerSession, _digest("session", token)) if token else None
    if row is None or row.expires_at <= ctx.wall.now():
        raise SelfServiceError(401, "signed_out", "phone", "sign in with a code sent to your phone")
    return row


async def sign_out(session: AsyncSession, token: str) -> None:
    row = await session.get(CustomerSession, _digest("session", token))
    if row is not None:
        await session.delete(row)


async def own_tickets(session: AsyncSession, customer: CustomerSession) -> list[TicketContact]:
    rows = await session.scalars(
        select(TicketContact)
        .where(TicketContact.branch == customer.branch, TicketContact.phone == customer.phone)
        .order_by(TicketContact.received_at.desc())
        .limit(100)
    )
    return list(rows)


@dataclass(frozen=True)
class OwnTicket:
    contact: TicketContact
    steps: list[CustomerStepRow]
    rating: ServiceRating | None
    cannot_rate: str | None


async def own_ticket(session: AsyncSession, customer: CustomerSession, number: str) -> OwnTicket:
    """A ticket of this customer by its number; someone else's is as unknown as a wrong number (404)."""
    contact = await session.scalar(
        select(TicketContact).where(
            TicketContact.ticket_number == number.strip(),
            TicketContact.branch == customer.branch,
            TicketContact.phone == customer.phone,
        )
    )
    if contact is None:
        raise SelfServiceError(404, "not_found", "number", "no ticket of yours has this number")
    steps = await session.scalars(
        select(CustomerStepRow)
        .where(CustomerStepRow.ticket_id == contact.ticket_id)
        .order_by(CustomerStepRow.occurred_at, CustomerStepRow.id)
    )
    rating = await session.get(ServiceRating, contact.ticket_id)
    return OwnTicket(contact, list(steps), rating, may_rate(contact.status, rating is not None))


async def raise_request(
    ctx: SelfServiceContext, customer: CustomerSession, body: dict[str, Any], key: str
) -> CreatedTicket:
    """The request goes to intake as channel `web` with the verified phone (intake validates and grades it)."""
    if ctx.intake is None:
        raise SelfServiceError(503, "unavailable", "form", "requests cannot be taken right now")
    sent = {**body, "branch": customer.branch, "channel": "web"}
    sent["customer"] = {**body.get("customer", {}), "phone": customer.phone}
    try:
        created = await ctx.intake.create_ticket(sent, key)
    except IntakeRefused:
        REQUESTS.labels("refused").inc()
        raise
    REQUESTS.labels("created").inc()
    log.info("self_service_request_created", ticket_id=created.ticket_id, phone=mask_phone(customer.phone))
    return created


async def remember_ticket(
    session: AsyncSession, ctx: SelfServiceContext, customer: CustomerSession, created: CreatedTicket, category: str
) -> TicketContact:
    """The new ticket at once on the customer's list (its TicketReceived may not have reached the worker yet)."""
    contact = await session.get(TicketContact, created.ticket_id)
    if contact is None:
        contact = TicketContact(
            ticket_id=created.ticket_id,
            branch=customer.branch,
            ticket_number=created.ticket_number,
            category=category,
            phone=customer.phone,
            urgent=False,
            received_at=ctx.clock.now(),
            status=CustomerStep.RECEIVED.value,
        )
        session.add(contact)
        await session.flush()
    return contact


async def rate(
    session: AsyncSession, ctx: SelfServiceContext, customer: CustomerSession, number: str, rating: int, comment: str
) -> ServiceRating:
    found = await own_ticket(session, customer, number)
    if found.cannot_rate is not None:
        message = "you rated this ticket already" if found.rating else "a ticket can be rated once it is closed"
        raise SelfServiceError(409, found.cannot_rate, "rating", message)
    now = ctx.clock.now()
    row = ServiceRating(
        ticket_id=found.contact.ticket_id, branch=customer.branch, rating=rating, comment=comment, rated_at=now
    )
    session.add(row)
    event = new_event(
        ServiceRated(rating=rating, comment=comment),
        ticket_id=found.contact.ticket_id,
        branch=customer.branch,
        producer=SERVICE,
        correlation_id=found.contact.ticket_id,
        occurred_at=now,
    )
    stage(session, Outbox, [event], ctx.clock)
    return row


async def record_steps(session: AsyncSession, events: Sequence[Event[Payload]]) -> None:
    """The worker's part: each customer-visible event of a known ticket becomes a step (in the batch's transaction)."""
    for event in events:
        if event.ticket_id is None:
            continue
        appointment = event.payload.appointment_at if isinstance(event.payload, CustomerContacted) else None
        step = customer_step(event.type, appointment=appointment is not None)
        if step is None:
            continue
        contact = await session.get(TicketContact, event.ticket_id)
        if contact is None:
            continue
        if step is CustomerStep.RECEIVED:
            known = await session.scalar(
                select(CustomerStepRow.id).where(
                    CustomerStepRow.ticket_id == event.ticket_id, CustomerStepRow.step == step.value
                )
            )
            if known is not None:
                continue
        session.add(
            CustomerStepRow(
                ticket_id=event.ticket_id,
                event_id=str(event.event_id),
                step=step.value,
                occurred_at=event.occurred_at,
                appointment_at=appointment,
            )
        )
        if step is not CustomerStep.RECEIVED or contact.status == CustomerStep.RECEIVED.value:
            contact.status = step.value
