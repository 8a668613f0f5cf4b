"""A demo service built with create_app: realistic routes for the matrix and flow tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from pydantic import BaseModel
from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.auth import (
    AuditLog,
    AuditRecordMixin,
    AuthSettings,
    CustomerIdentity,
    IdentityAnswers,
    Principal,
    RevealRequest,
    Role,
    SecureRouter,
    TicketRef,
    VerificationAttemptMixin,
    VerificationPolicy,
    VerificationStore,
    audit_router,
    ensure_branch,
    ensure_in_scope,
    issue_token,
    require_roles,
    reveal_field,
    verify_identity,
)
from shared.http.app import create_app
from shared.http.errors import ApiError
from shared.http.settings import HttpSettings
from shared.privacy import MaskedAddress, MaskedIdNumber, MaskedName, MaskedPhone, PersonalField

log = structlog.get_logger("demo")

SECRET = "unit-test-secret-that-is-long-enough-0123456789"
NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)

# The fixture world: branch nn (南宁) has ticket T1 dispatched to unit u1 of division d1,
# owned by agent-1; branch gz is the "other branch".
BRANCH, OTHER_BRANCH = "nn", "gz"
CALLER = {
    "caller_name": "张小明",
    "caller_phone": "13812345678",
    "id_number": "45010219900101123X",
    "address": "广西壮族自治区南宁市青秀区民族大道100号3栋",
}


class Base(DeclarativeBase):
    pass


class DemoTicket(Base):
    __tablename__ = "demo_tickets"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    branch: Mapped[str] = mapped_column(String(10))
    unit: Mapped[str | None] = mapped_column(String(10))
    division: Mapped[str | None] = mapped_column(String(10))
    owner: Mapped[str] = mapped_column(String(40))
    caller_name: Mapped[str] = mapped_column(String(40))
    caller_phone: Mapped[str] = mapped_column(String(40))
    id_number: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(200))

    def ref(self) -> TicketRef:
        return TicketRef(
            ticket_id=self.id,
            branch=self.branch,
            unit=self.unit,
            division=self.division,
            owner=self.owner,
        )


class DemoCustomer(Base):
    __tablename__ = "demo_customers"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    branch: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(40))
    id_number: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(40))
    balance_cents: Mapped[int] = mapped_column()


class DemoAudit(AuditRecordMixin, Base):
    __tablename__ = "demo_audit"


class DemoVerificationAttempt(VerificationAttemptMixin, Base):
    __tablename__ = "demo_verification_attempts"


AUDIT = AuditLog(DemoAudit, service="demo")
ATTEMPTS = VerificationStore(DemoVerificationAttempt)


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


def now(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


Db = Annotated[AsyncSession, Depends(db_session)]
Now = Annotated[datetime, Depends(now)]
TicketReader = Annotated[
    Principal,
    require_roles(Role.AGENT, Role.UNIT_HANDLER, Role.DIVISION_SUPERVISOR, Role.CENTER_SUPERVISOR),
]
Revealer = Annotated[Principal, require_roles(Role.AGENT, Role.UNIT_HANDLER)]
Agent = Annotated[Principal, require_roles(Role.AGENT)]
Supervisor = Annotated[Principal, require_roles(Role.DIVISION_SUPERVISOR, Role.CENTER_SUPERVISOR, Role.ADMIN)]
Integration = Annotated[Principal, require_roles(Role.INTEGRATION)]


class TicketPublic(BaseModel):
    id: str
    branch: str
    unit: str | None
    caller_name: MaskedName
    caller_phone: MaskedPhone
    id_number: MaskedIdNumber
    address: MaskedAddress


class AccountPublic(BaseModel):
    customer_id: str
    name: MaskedName
    balance_cents: int


class CallIn(BaseModel):
    call_id: str
    caller_number: str


router = SecureRouter(prefix="/api/v1")


async def _ticket(db: AsyncSession, ticket_id: str, principal: Principal) -> DemoTicket:
    ticket = await db.get(DemoTicket, ticket_id)
    if ticket is None:
        raise ApiError(404, f"ticket {ticket_id} not found")
    ensure_in_scope(principal, ticket.ref())
    return ticket


@router.get("/tickets/{ticket_id}", response_model=TicketPublic)
async def read_ticket(ticket_id: str, principal: TicketReader, db: Db) -> DemoTicket:
    ticket = await _ticket(db, ticket_id, principal)
    # a careless log line: the masking processor must still keep the data out of the logs
    log.info(
        "ticket read",
        ticket_id=ticket_id,
        caller_phone=ticket.caller_phone,
        caller_name=ticket.caller_name,
        note=f"caller {ticket.caller_phone} id {ticket.id_number}",
    )
    return ticket


@router.get("/tickets", response_model=list[TicketPublic])
async def list_tickets(principal: TicketReader, db: Db) -> list[DemoTicket]:
    scope = principal.scope
    rows = await db.scalars(
        select(DemoTicket)
        .where(scope.where(DemoTicket.branch, DemoTicket.unit, DemoTicket.division))
        .order_by(DemoTicket.id)
    )
    return list(rows)


@router.post("/tickets/{ticket_id}/reveal")
async def reveal(ticket_id: str, body: RevealRequest, principal: Revealer, db: Db, at: Now) -> Any:
    ticket = await _ticket(db, ticket_id, principal)
    values = {
        PersonalField.NAME: ticket.caller_name,
        PersonalField.PHONE: ticket.caller_phone,
        PersonalField.ID_NUMBER: ticket.id_number,
        PersonalField.ADDRESS: ticket.address,
    }
    return await reveal_field(
        db,
        audit=AUDIT,
        principal=principal,
        ticket=ticket.ref(),
        request=body,
        value=values.get(body.field),
        now=at,
    )


@router.post("/customers/{customer_id}/verify", response_model=AccountPublic)
async def verify_and_query_account(
    customer_id: str, answers: IdentityAnswers, principal: Agent, db: Db, at: Now, request: Request
) -> AccountPublic:
    customer = await db.get(DemoCustomer, customer_id)
    if customer is None or customer.branch != principal.branch:
        raise ApiError(404, f"customer {customer_id} not found")
    log.info("identity check", customer_id=customer_id, phone=answers.phone, name=answers.name)
    await verify_identity(
        db,
        store=ATTEMPTS,
        audit=AUDIT,
        principal=principal,
        policy=request.app.state.verification_policy,
        customer_id=customer_id,
        record=CustomerIdentity(
            name=customer.name,
            id_number=customer.id_number,
            address=customer.address,
            phone=customer.phone,
        ),
        answers=answers,
        now=at,
    )
    return AccountPublic(customer_id=customer.id, name=customer.name, balance_cents=customer.balance_cents)


@router.get("/branches/{branch}/stats")
async def branch_stats(branch: str, principal: Supervisor) -> dict[str, Any]:
    ensure_branch(principal, branch)
    return {"branch": branch, "open_tickets": 1}


@router.post("/calls", status_code=201)
async def receive_call(call: CallIn, principal: Integration) -> dict[str, str]:
    log.info("call received", call_id=call.call_id, caller_number=call.caller_number)
    return {"call_id": call.call_id, "caller_number": call.caller_number}


def auth_settings(**overrides: Any) -> AuthSettings:
    values: dict[str, Any] = {"jwt_secret": SECRET, **overrides}
    return AuthSettings(**values)


def build_app(database_url: str, *, clock: Callable[[], datetime] = lambda: NOW, **http: Any) -> Any:
    engine = create_async_engine(database_url)
    app = create_app(
        "demo",
        HttpSettings(**http),
        router,
        audit_router(AUDIT, db_session),
        auth=auth_settings(api_keys=[]),
        state={
            "engine": engine,
            "sessionmaker": async_sessionmaker(engine, expire_on_commit=False),
            "clock": clock,
            "verification_policy": VerificationPolicy(),
        },
    )
    return app


async def seed(app: Any) -> None:
    engine = app.state.engine
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    async with app.state.sessionmaker() as session:
        session.add_all(
            [
                DemoTicket(id="T1", branch=BRANCH, unit="u1", division="d1", owner="agent-1", **CALLER),
                DemoTicket(id="T2", branch=BRANCH, unit="u2", division="d2", owner="agent-2", **CALLER),
                DemoTicket(id="T3", branch=OTHER_BRANCH, unit="u1", division="d1", owner="agent-1", **CALLER),
                DemoCustomer(
                    id="C1",
                    branch=BRANCH,
                    name="张小明",
                    id_number="45010219900101123X",
                    address="南宁市青秀区民族大道100号",
                    phone="13812345678",
                    balance_cents=12345,
                ),
            ]
        )
        await session.commit()


def token(
    role: Role,
    branch: str = BRANCH,
    *,
    subject: str | None = None,
    unit: str | None = None,
    division: str | None = None,
    at: datetime | None = None,
    ttl: timedelta = timedelta(hours=8),
    settings: AuthSettings | None = None,
) -> str:
    # tokens are checked against the real clock by PyJWT, so they are issued "now"
    return issue_token(
        settings or auth_settings(),
        subject=subject or f"{role.value}-1",
        role=role,
        branch=branch,
        unit=unit,
        division=division,
        now=at or datetime.now(UTC),
        ttl=ttl,
    )


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}
