"""Work orders: create, a call's several requests, first-contact close, alarms, 12345 tasks, view, search, reveal."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Request
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import handlers, split, store
from services.intake.api.common import (
    Agent,
    Clk,
    Creator,
    Db,
    GovImporter,
    IdempotencyKey,
    Lnk,
    Pol,
    Revealer,
    TicketReader,
    _caller,
    _notify,
    _writer,
    created,
    summary,
    ticket_in_scope,
)
from services.intake.handlers import Received
from services.intake.photos import add_photos, checked_photos
from services.intake.schemas import (
    AlarmIn,
    AlarmReceived,
    CallRequestsIn,
    CallTicketsCreated,
    ClockView,
    CustomerView,
    GovTaskImported,
    GovTaskIn,
    HistoryEntry,
    RequestPlacement,
    ResolutionIn,
    TicketCreated,
    TicketIn,
    TicketPage,
    TicketView,
)
from services.intake.store import AUDIT, Ticket
from services.intake.validation import normalise_phone
from shared.auth import (
    Principal,
    SecureRouter,
    ensure_branch,
    ensure_in_scope,
)
from shared.auth.reveal import Revealable, add_reveal_route
from shared.errors import DomainError
from shared.http.errors import ApiError
from shared.http.ratelimit import rate_limited
from shared.http.responses import MaskedJSONResponse
from shared.http.types import Instant
from shared.policy.ticket_actions import intake_actions
from shared.policy.work_order import SAFETY_PRECAUTIONS
from shared.privacy import PersonalField

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
    caller = _caller(principal)
    order, policy = handlers.validate_ticket(body, caller, policies, clock.now())
    photos = checked_photos(body.photos)  # a customer's photos (issue 21): refused before anything is written
    await handlers.check_order_references(db, order, links)
    await db.rollback()  # the checks' reads end here: the writer's transaction takes the number

    async def write(session: AsyncSession) -> Received:
        received = await handlers.write_ticket(session, body, order, policy, caller, clock, policies)
        received.ticket.idempotency_key = idempotency_key
        add_photos(session, received.ticket.ticket_id, photos, clock.now())  # in the ticket's transaction
        return received

    try:
        # concurrent creates share one transaction and one durable commit (services/intake/writer.py)
        received = await _writer(request).submit(write)
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
    except DomainError as error:
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


@tickets.get("/tickets/{ticket_id}", response_model=TicketView)
async def read_ticket(ticket_id: str, principal: TicketReader, db: Db) -> Any:
    """The ticket's whole life: status, unit, clocks, escalations, callback, history (masked)."""
    ticket = await ticket_in_scope(db, ticket_id, principal)
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


async def _revealable(db: AsyncSession, principal: Principal, ticket_id: str, now: datetime) -> Revealable:
    ticket = await ticket_in_scope(db, ticket_id, principal)
    values = {
        PersonalField.NAME: ticket.customer_name,
        PersonalField.PHONE: ticket.customer_phone,
        PersonalField.ID_NUMBER: ticket.id_card_number,
        PersonalField.ADDRESS: ticket.customer_address,
    }
    return Revealable(ticket.ref(), values)


add_reveal_route(
    tickets,
    "/tickets/{ticket_id}/reveal",
    revealer=Revealer,
    lookup=_revealable,
    audit=AUDIT,
    description="One personal field in clear, for someone with a need to know; audited first (RULES.md §6).",
    dependencies=[rate_limited("reveal")],
)
