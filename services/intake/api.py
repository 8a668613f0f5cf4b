"""The agent API of intake: work orders in, first-contact close, alarms, 12345, the ticket view, customers, calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.intake import handlers, split, store
from services.intake.handlers import Caller, Links, Policies, Received
from services.intake.references import credentials_of
from services.intake.schemas import (
    AccountQueryIn,
    AccountView,
    AlarmIn,
    AlarmReceived,
    CallRequestsIn,
    CallStats,
    CallTicketsCreated,
    CallView,
    ClockView,
    CustomerRecordView,
    CustomerView,
    GovTaskImported,
    GovTaskIn,
    HistoryEntry,
    RequestPlacement,
    ResolutionIn,
    ScreenPop,
    TicketCreated,
    TicketIn,
    TicketPage,
    TicketSummary,
    TicketView,
)
from services.intake.store import ATTEMPTS, AUDIT, CallRecord, Customer, CustomerPhone, Ticket
from services.intake.validation import normalise_phone
from shared.auth import (
    CustomerIdentity,
    IdentityAnswers,
    Principal,
    RevealRequest,
    Role,
    SecureRouter,
    ensure_branch,
    ensure_in_scope,
    require_roles,
    reveal_field,
    verify_identity,
)
from shared.auth.audit import AuditAction
from shared.clock import Clock
from shared.http.errors import ApiError
from shared.http.ratelimit import rate_limited
from shared.http.responses import MaskedJSONResponse, UnmaskedJSONResponse
from shared.http.types import Instant
from shared.policy.ticket_actions import intake_actions
from shared.policy.work_order import SAFETY_PRECAUTIONS
from shared.privacy import PersonalField


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with sessions() as session:
        yield session


# async on purpose: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per request
async def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def _policies(request: Request) -> Policies:
    policies: Policies = request.app.state.policies
    return policies


async def _links(request: Request) -> Links:
    # what a work order points at is checked with dispatch's org tree, as the caller (issue 13)
    return Links(getattr(request.app.state, "directory", None), credentials_of(request.headers))


Db = Annotated[AsyncSession, Depends(db_session)]
Clk = Annotated[Clock, Depends(_clock)]
Pol = Annotated[Policies, Depends(_policies)]
Lnk = Annotated[Links, Depends(_links)]
Agent = Annotated[Principal, require_roles(Role.AGENT, Role.CENTER_SUPERVISOR)]
# the callback service creates the new ticket of a request raised during a callback (RULES.md §5)
Creator = Annotated[Principal, require_roles(Role.AGENT, Role.CENTER_SUPERVISOR, Role.INTEGRATION)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]
CallAgent = Annotated[Principal, require_roles(Role.AGENT)]
GovImporter = Annotated[Principal, require_roles(Role.INTEGRATION, Role.AGENT, Role.CENTER_SUPERVISOR)]
TicketReader = Annotated[
    Principal,
    require_roles(Role.AGENT, Role.UNIT_HANDLER, Role.DIVISION_SUPERVISOR, Role.CENTER_SUPERVISOR),
]
Revealer = Annotated[Principal, require_roles(Role.AGENT, Role.UNIT_HANDLER)]
CallReader = Annotated[Principal, require_roles(Role.AGENT, Role.CENTER_SUPERVISOR, Role.INTEGRATION)]
Supervisor = Annotated[Principal, require_roles(Role.CENTER_SUPERVISOR, Role.DIVISION_SUPERVISOR)]


def _caller(principal: Principal) -> Caller:
    return Caller(subject=principal.subject, branch=principal.branch, is_agent=principal.role is not Role.INTEGRATION)


def _notify(request: Request) -> None:
    relay = getattr(request.app.state, "relay", None)
    if relay is not None:
        relay.notify()


def created(ticket: Ticket) -> TicketCreated:
    return TicketCreated(
        ticket_id=ticket.ticket_id,
        ticket_number=ticket.ticket_number,
        branch=ticket.branch,
        category=ticket.category,  # type: ignore[arg-type]
        status=ticket.status,
        unit_id=ticket.unit_id,
        complaint_level=ticket.complaint_level,
        call_id=ticket.call_id,
        external_task_id=ticket.external_task_id,
        external_deadline=ticket.external_deadline,
        external_deadline_kept=ticket.external_deadline_stricter,
    )


def summary(ticket: Ticket) -> TicketSummary:
    return TicketSummary(
        ticket_id=ticket.ticket_id,
        ticket_number=ticket.ticket_number,
        branch=ticket.branch,
        channel=ticket.channel,
        category=ticket.category,
        subtype=ticket.subtype,
        status=ticket.status,
        received_at=ticket.received_at,
        closed_at=ticket.closed_at,
        unit_id=ticket.unit_id,
        division_id=ticket.division_id,
        complaint_level=ticket.complaint_level,
        breached=ticket.breached,
        call_id=ticket.call_id,
        customer_phone=ticket.customer_phone,
    )


tickets = SecureRouter(prefix="/api/v1", tags=["tickets"])

# a work-order field -> the alarm body's field it came from
_ALARM_FIELDS = {
    "body.customer.name": "body.name",
    "body.customer.phone": "body.phone",
    "body.customer.address": "body.address",
    "body.customer.customer_id": "body.customer_id",
    "body.customer.account_number": "body.account_number",
    "body.description": "body.scene",
}


@tickets.post("/tickets", status_code=201, response_model=TicketCreated)
async def create_ticket(
    body: TicketIn,
    principal: Creator,
    db: Db,
    clock: Clk,
    policies: Pol,
    links: Lnk,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Take a work order; with `first_contact_resolution` it is closed on the call at once.

    A retried request with the same `Idempotency-Key` gets the ticket it already made (200).
    """
    from sqlalchemy.exc import IntegrityError

    branch = body.branch or principal.branch
    ensure_branch(principal, branch)
    if idempotency_key:
        existing = await store.ticket_by_idempotency_key(db, branch, idempotency_key)
        answer = created(existing) if existing is not None else None
        await db.rollback()  # end the read so the create below opens its own transaction
        if answer is not None:
            return MaskedJSONResponse(answer.model_dump(mode="json"), status_code=200)
    try:
        async with db.begin():
            received = await handlers.create_ticket(db, body, _caller(principal), clock, policies, links)
            received.ticket.idempotency_key = idempotency_key
    except IntegrityError:
        if not idempotency_key:
            raise
        # a concurrent twin with the same key won the race: answer with its ticket
        existing = await store.ticket_by_idempotency_key(db, branch, idempotency_key)
        if existing is None:
            raise
        return MaskedJSONResponse(created(existing).model_dump(mode="json"), status_code=200)
    _notify(request)
    return created(received.ticket)


@tickets.post("/calls/{call_id}/requests", status_code=201, response_model=CallTicketsCreated)
async def create_call_tickets(
    call_id: str,
    body: CallRequestsIn,
    principal: Agent,
    db: Db,
    clock: Clk,
    policies: Pol,
    links: Lnk,
    request: Request,
) -> Any:
    """All requests of one call: one ticket per responsible unit under its highest-ranked category; a request
    without a unit goes where the branch's routing rules send it (RULES.md §1, §15(一)3), and the answer says so."""
    async with db.begin():
        results = await split.create_call_tickets(db, call_id, body, _caller(principal), clock, policies, links)
    _notify(request)
    placements = [
        RequestPlacement(
            request=index,
            category=body.requests[index].category,
            ticket_id=result.received.ticket.ticket_id,
            unit_id=routed.unit_id,
            unit_from=routed.source,
            rule_id=routed.rule_id,
            detail=routed.detail,
        )
        for result in results
        for index, routed in result.placements
    ]
    return CallTicketsCreated(
        call_id=call_id,
        tickets=[created(r.received.ticket) for r in results],
        placements=sorted(placements, key=lambda p: p.request),
        summary=split.summary(results, body),
    )


@tickets.post("/tickets/{ticket_id}/first-contact-resolution", response_model=TicketCreated)
async def resolve_on_first_contact(
    ticket_id: str, body: ResolutionIn, principal: Agent, db: Db, clock: Clk, policies: Pol, request: Request
) -> Any:
    """Close a ticket on the call with the answer given and the knowledge article used."""
    async with db.begin():
        ticket = await handlers.ticket_for_update(db, ticket_id)
        if ticket is None:
            raise ApiError(404, f"ticket {ticket_id} not found")
        ensure_in_scope(principal, ticket.ref())
        await handlers.resolve_on_first_contact(
            db, ticket, _caller(principal), body.answer, body.knowledge_article_id, clock, policies
        )
    _notify(request)
    return created(ticket)


@tickets.post("/alarms", status_code=201, response_model=AlarmReceived)
async def report_alarm(
    body: AlarmIn, principal: Agent, db: Db, clock: Clk, policies: Pol, links: Lnk, request: Request
) -> Any:
    """The gas alarm fast path: urgent notice to the named unit at once, precautions for the caller."""
    ticket_in = TicketIn(
        branch=body.branch,
        category="alarm",  # type: ignore[arg-type]
        customer={  # type: ignore[arg-type]
            "name": body.name,
            "phone": body.phone,
            "address": body.address,
            "customer_id": body.customer_id,
            "account_number": body.account_number,
        },
        location=body.location,
        description=body.scene,
        hazardous=True,
        urgent=True,
        call_id=body.call_id,
        unit_id=body.unit_id,
    )
    caller = _caller(principal)
    try:
        order, policy = handlers.validate_ticket(ticket_in, caller, policies, clock.now())
        async with db.begin():
            received, noticed = await handlers.report_alarm(db, order, caller, clock, policies, policy, links)
    except ApiError as error:
        # the alarm body's own field paths, not those of the work order built from it (issue 13)
        error.fields = [{**f, "field": _ALARM_FIELDS.get(f.get("field", ""), f.get("field", ""))} for f in error.fields]
        raise
    _notify(request)
    return AlarmReceived(
        ticket=created(received.ticket), urgent_notice_sent=noticed, precautions=list(SAFETY_PRECAUTIONS)
    )


@tickets.post("/gov12345/tasks", status_code=201, response_model=GovTaskImported)
async def import_gov_task(
    body: GovTaskIn, principal: GovImporter, db: Db, clock: Clk, policies: Pol, links: Lnk, request: Request
) -> Any:
    """Import a 12345 task; the same task id again returns the ticket already made (200)."""
    caller = _caller(principal)
    received: Received | None
    try:
        async with db.begin():
            received, ticket = await handlers.import_gov_task(db, body, caller, clock, policies, links)
    except IntegrityError:
        # a concurrent import of the same task won the unique constraint: answer with its ticket
        await db.rollback()
        async with db.begin():
            branch = body.ticket.branch or caller.branch
            existing = await store.ticket_by_external_task(db, branch, body.external_task_id)
        if existing is None:
            raise
        received, ticket = None, existing
    if received is None:
        result = GovTaskImported(created=False, ticket=created(ticket))
        return MaskedJSONResponse(result.model_dump(mode="json"), status_code=200)
    _notify(request)
    return GovTaskImported(created=True, ticket=created(ticket))


async def _ticket_in_scope(db: AsyncSession, ticket_id: str, principal: Principal) -> Ticket:
    ticket = await db.get(Ticket, ticket_id)
    if ticket is None:
        raise ApiError(404, f"ticket {ticket_id} not found")
    ensure_in_scope(principal, ticket.ref())
    return ticket


@tickets.get("/tickets/{ticket_id}", response_model=TicketView)
async def read_ticket(ticket_id: str, principal: TicketReader, db: Db) -> Any:
    """The ticket's whole life: status, unit, clocks, escalations, callback, history (masked)."""
    ticket = await _ticket_in_scope(db, ticket_id, principal)
    clocks = await store.clocks_of(db, ticket_id)
    history = await store.history_of(db, ticket_id)
    order = {name: i for i, name in enumerate(("dispatch", "contact", "handle", "resolve", "callback"))}
    return TicketView(
        **summary(ticket).model_dump(),
        description=ticket.description,
        customer=CustomerView(
            customer_id=ticket.customer_id,
            name=ticket.customer_name,
            phone=ticket.customer_phone,
            address=ticket.customer_address,
            account_number=ticket.account_number,
            id_card_number=ticket.id_card_number,
        ),
        location=ticket.location,
        complaint=ticket.complaint,
        hazardous=ticket.hazardous,
        urgent=ticket.urgent,
        callback_preference={"mode": ticket.callback_mode, "requested_at": ticket.callback_requested_at},
        owner_agent_id=ticket.owner_agent_id,
        parent_ticket_id=ticket.parent_ticket_id,
        external_task_id=ticket.external_task_id,
        external_deadline=ticket.external_deadline,
        external_deadline_kept=ticket.external_deadline_stricter,
        resolution=ticket.resolution,
        clocks=[
            ClockView(
                clock=c.clock,
                started_at=c.started_at,
                deadline=c.deadline,
                provisional=c.provisional,
                stopped_at=c.stopped_at,
                state=c.state,
                warned=c.warned,
                breached=c.breached,
            )
            for c in sorted(clocks, key=lambda c: order.get(c.clock, 9))
        ],
        escalations=ticket.escalations,
        callback=ticket.callback,
        history=[
            HistoryEntry(
                event_id=str(h.event_id),
                type=h.event_type,
                occurred_at=h.occurred_at,
                producer=h.producer,
                details=h.summary,
            )
            for h in history
        ],
        allowed_actions=[
            a.value
            for a in intake_actions(
                principal.role, ticket.status, ticket.category, has_customer=ticket.customer_id is not None
            )
        ],
    )


@tickets.get("/tickets", response_model=TicketPage)
async def search_tickets(
    principal: TicketReader,
    db: Db,
    phone: str | None = None,
    status: str | None = None,
    category: str | None = None,
    unit: str | None = None,
    number: Annotated[str | None, Query(max_length=64)] = None,
    address: Annotated[str | None, Query(max_length=200)] = None,
    customer_id: Annotated[str | None, Query(max_length=128)] = None,
    channel: Annotated[str | None, Query(max_length=32)] = None,
    breached: bool | None = None,
    since: Instant | None = None,
    until: Instant | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Any:
    """Search the tickets in the caller's scope (a unit sees its unit, a division its division)."""
    scope = principal.scope
    in_scope = scope.where(Ticket.__table__.c.branch, Ticket.__table__.c.unit_id, Ticket.__table__.c.division_id)
    statement: Select[Ticket] = select(Ticket).where(in_scope)
    if phone is not None:
        digits = normalise_phone(phone)
        if digits is None:
            raise ApiError(422, "invalid phone", fields=[{"field": "query.phone", "message": "not a valid number"}])
        statement = statement.where(Ticket.customer_phone == digits)
    if number:
        statement = statement.where(Ticket.ticket_number == number.strip())
    if address:
        # the console's search by address: any part of it, as the agent heard it
        statement = statement.where(Ticket.customer_address.contains(address.strip(), autoescape=True))
    if customer_id:
        statement = statement.where(Ticket.customer_id == customer_id)
    if channel:
        statement = statement.where(Ticket.channel == channel)
    if status is not None:
        statement = statement.where(Ticket.status == status)
    if category is not None:
        statement = statement.where(Ticket.category == category)
    if unit is not None:
        statement = statement.where(Ticket.unit_id == unit)
    if breached is not None:
        statement = statement.where(Ticket.breached.is_(breached))
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ApiError(422, "naive time", fields=[{"field": f"query.{name}", "message": "needs a UTC offset"}])
    if since is not None:
        statement = statement.where(Ticket.received_at >= since)
    if until is not None:
        statement = statement.where(Ticket.received_at < until)
    rows = (await db.scalars(statement.order_by(Ticket.received_at.desc()).limit(limit).offset(offset))).all()
    return TicketPage(tickets=[summary(t) for t in rows], limit=limit, offset=offset)


@tickets.post("/tickets/{ticket_id}/reveal", dependencies=[rate_limited("reveal")])
async def reveal(ticket_id: str, body: RevealRequest, principal: Revealer, db: Db, clock: Clk) -> Any:
    """One personal field in clear, for someone with a need to know; audited first (RULES.md §6)."""
    ticket = await _ticket_in_scope(db, ticket_id, principal)
    values = {
        PersonalField.NAME: ticket.customer_name,
        PersonalField.PHONE: ticket.customer_phone,
        PersonalField.ID_NUMBER: ticket.id_card_number,
        PersonalField.ADDRESS: ticket.customer_address,
    }
    return await reveal_field(
        db,
        audit=AUDIT,
        principal=principal,
        ticket=ticket.ref(),
        request=body,
        value=values.get(body.field),
        now=clock.now(),
    )


customers = SecureRouter(prefix="/api/v1", tags=["customers"])


async def _phones(db: AsyncSession, customer_ids: list[str]) -> dict[str, list[str]]:
    rows = (await db.execute(select(CustomerPhone).where(CustomerPhone.customer_id.in_(customer_ids)))).scalars()
    phones: dict[str, list[str]] = {}
    for row in rows:
        phones.setdefault(row.customer_id, []).append(row.phone)
    return phones


async def screen_pop_for(db: AsyncSession, branch: str, raw_phone: str | None) -> ScreenPop:
    """The caller's customer records and past tickets, open ones first."""
    digits = normalise_phone(raw_phone) if raw_phone else None
    if digits is None:
        return ScreenPop(phone=raw_phone, customers=[], tickets=[], open_tickets=0)
    found = await store.customers_by_phone(db, branch, digits)
    phones = await _phones(db, [c.customer_id for c in found])
    history = await store.tickets_by_phone(db, branch, digits)
    return ScreenPop(
        phone=digits,
        customers=[
            CustomerRecordView(
                customer_id=c.customer_id,
                account_number=c.account_number,
                name=c.name,
                address=c.address,
                phones=phones.get(c.customer_id, []),
                key_customer=c.key_customer,
            )
            for c in found
        ],
        tickets=[summary(t) for t in history],
        open_tickets=sum(1 for t in history if t.status not in store.CLOSED_STATUSES),
    )


@customers.get("/customers/history", response_model=ScreenPop)
async def customer_history(principal: Agent, db: Db, phone: str) -> Any:
    """Screen pop by phone: the customer records and the caller's tickets, open ones first."""
    if normalise_phone(phone) is None:
        raise ApiError(422, "invalid phone", fields=[{"field": "query.phone", "message": "not a valid number"}])
    return await screen_pop_for(db, principal.branch, phone)


@customers.post(
    "/customers/{customer_id}/account-query",
    response_model=AccountView,
    dependencies=[rate_limited("identity_check")],
    responses={423: {"description": "verification locked for this customer; see Retry-After"}},
)
async def account_query(
    customer_id: str, body: AccountQueryIn, principal: CallAgent, db: Db, clock: Clk, request: Request
) -> Any:
    """RULES.md §1 query, §6: identity verified against the record before any account data is shown."""
    customer = await db.get(Customer, customer_id)
    if customer is None or customer.branch != principal.branch:
        raise ApiError(404, f"customer {customer_id} not found")
    phones = (await _phones(db, [customer_id])).get(customer_id, [])
    answers = IdentityAnswers(name=body.name, id_number=body.id_number, address=body.address, phone=body.phone)
    given_phone = normalise_phone(body.phone) if body.phone else None
    record_phone = given_phone if given_phone in phones else (phones[0] if phones else None)
    now = clock.now()
    await verify_identity(
        db,
        store=ATTEMPTS,
        audit=AUDIT,
        principal=principal,
        policy=request.app.state.verification_policy,
        customer_id=customer_id,
        record=CustomerIdentity(
            name=customer.name, id_number=customer.id_card_number, address=customer.address, phone=record_phone
        ),
        answers=answers,
        now=now,
        ticket_id=body.ticket_id,
    )
    await AUDIT.record(
        db,
        principal=principal,
        action=AuditAction.ACCOUNT_QUERY,
        at=now,
        ticket_id=body.ticket_id,
        customer_id=customer_id,
    )
    await db.commit()
    open_rows = (
        await db.scalars(
            select(Ticket).where(
                Ticket.branch == principal.branch,
                Ticket.customer_id == customer_id,
                Ticket.status.not_in(store.CLOSED_STATUSES),
            )
        )
    ).all()
    view = AccountView(
        customer_id=customer.customer_id,
        account_number=customer.account_number,
        name=customer.name,
        address=customer.address,
        phones=phones,
        key_customer=customer.key_customer,
        open_tickets=[summary(t) for t in open_rows],
    )
    # verified: the agent reads the record to the caller, so it goes out in clear (audited above)
    return UnmaskedJSONResponse(view.model_dump(mode="json"))


calls = SecureRouter(prefix="/api/v1", tags=["calls"])


@calls.get("/calls/stats", response_model=CallStats)
async def call_stats(principal: Supervisor, db: Db, since: Instant | None = None, until: Instant | None = None) -> Any:
    """Answered and abandoned calls and handle time in a range (RULES.md §7 statistics)."""
    counts = await store.call_counts(db, principal.branch, since, until)
    return CallStats(branch=principal.branch, since=since, until=until, **counts)


async def _call(db: AsyncSession, call_id: str, principal: Principal) -> CallRecord:
    record = await db.get(CallRecord, call_id)
    if record is None or record.branch != principal.branch:
        raise ApiError(404, f"call {call_id} not found")
    return record


@calls.get("/calls/{call_id}", response_model=CallView)
async def read_call(call_id: str, principal: CallReader, db: Db) -> Any:
    """A call record with the tickets taken on it."""
    record = await _call(db, call_id, principal)
    linked = await store.tickets_of_call(db, call_id)
    return CallView(
        call_id=record.call_id,
        branch=record.branch,
        caller_number=record.caller_number,
        dialled_number=record.dialled_number,
        queue=record.queue,
        agent_id=record.agent_id,
        state=record.state,
        offered_at=record.offered_at,
        answered_at=record.answered_at,
        ended_at=record.ended_at,
        talk_seconds=record.talk_seconds,
        recording_ref=record.recording_ref,
        tickets=[summary(t) for t in linked if t.branch == principal.branch],
    )


@calls.get("/calls/{call_id}/screen-pop", response_model=ScreenPop)
async def call_screen_pop(call_id: str, principal: CallAgent, db: Db) -> Any:
    """The screen pop for a ringing call: who the caller number belongs to and their tickets."""
    record = await _call(db, call_id, principal)
    return await screen_pop_for(db, principal.branch, record.caller_number)
