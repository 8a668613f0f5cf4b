"""Customers: the caller's history (screen pop) and the account query behind the identity check (RULES.md §14)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import store
from services.intake.api.common import (
    Agent,
    CallAgent,
    Clk,
    Db,
    summary,
)
from services.intake.schemas import (
    AccountQueryIn,
    AccountView,
    CustomerRecordView,
    ScreenPop,
)
from services.intake.store import ATTEMPTS, AUDIT, Customer, CustomerPhone, Ticket
from services.intake.validation import normalise_phone
from shared.auth import (
    CustomerIdentity,
    IdentityAnswers,
    SecureRouter,
    verify_identity,
)
from shared.auth.audit import AuditAction
from shared.http.errors import ApiError
from shared.http.ratelimit import rate_limited
from shared.http.responses import UnmaskedJSONResponse

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
