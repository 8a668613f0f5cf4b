"""One call's requests as tickets (RULES.md §1, §15(一)3): one ticket per responsible unit, under its highest-ranked
category, the unit of each request taken from the agent or, when the agent named none, from the routing rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.handlers import (
    Caller,
    Links,
    Order,
    Policies,
    Received,
    _customer,
    _location,
    receive,
)
from services.intake.references import RouteAnswer, RouteQuery, check_references
from services.intake.schemas import CallRequestsIn, RequestIn
from services.intake.validation import (
    FieldErrors,
    check_callback,
    check_complaint,
    check_customer,
    check_description,
    check_subtype,
)
from shared.clock import Clock
from shared.errors import Forbidden
from shared.policy.categories import Category, Request, split_requests

UnitSource = Literal["agent", "routing_rules", "center"]


@dataclass(frozen=True)
class Routed:
    """Where one request goes and why: the agent's unit, the routing rules' unit, or the center's queue."""

    unit_id: str | None
    source: UnitSource
    rule_id: str | None = None
    detail: str = ""


@dataclass
class CallTicket:
    received: Received
    placements: list[tuple[int, Routed]]  # each request of the call on this ticket, and how its unit was found


async def _route_each(body: CallRequestsIn, links: Links | None) -> list[Routed]:
    """The unit of each request: the agent's, else the branch's routing rules for its category and place."""
    routed: list[Routed] = []
    for request in body.requests:
        if request.unit_id is not None:
            routed.append(Routed(request.unit_id, "agent"))
            continue
        answer: RouteAnswer | None = None
        if links is not None and links.directory is not None:
            query = RouteQuery(
                category=request.category.value,
                subtype=request.subtype.value if request.subtype else None,
                district=body.location.district,
                community=body.location.community,
                address=body.customer.address,
            )
            answer = await links.directory.route(query, links.credentials)
        if answer is not None and answer.unit_id is not None:
            routed.append(Routed(answer.unit_id, "routing_rules", answer.rule_id, answer.detail))
        else:
            detail = answer.detail if answer is not None else "the routing rules could not be asked"
            routed.append(Routed(None, "center", None, detail))
    return routed


def _description(requests: list[RequestIn]) -> str:
    return "\n".join(
        f"[{r.category.value}{'/' + r.subtype.value if r.subtype else ''}] {r.description}".strip() for r in requests
    )


async def create_call_tickets(
    session: AsyncSession,
    call_id: str,
    body: CallRequestsIn,
    caller: Caller,
    clock: Clock,
    policies: Policies,
    links: Links | None = None,
) -> list[CallTicket]:
    """RULES.md §1 (§15(一)3): one ticket per responsible unit, under its highest-ranked category."""
    now = clock.now()
    branch = body.branch or caller.branch
    if branch != caller.branch:
        raise Forbidden(f"branch {branch!r} is outside your scope", code="out_of_scope")
    policy = policies.for_request(branch)
    errors = FieldErrors()
    for i, request in enumerate(body.requests):
        check_subtype(errors, request.category, request.subtype, f"requests.{i}.subtype")
        check_description(errors, request.category, request.description, f"requests.{i}.description")
        check_complaint(errors, request.category, request.complaint, branch, f"requests.{i}.complaint")
    check_callback(errors, body.callback, now)
    await check_references(
        session,
        errors,
        branch,
        directory=links.directory if links else None,
        credentials=links.credentials if links else {},
        units={f"requests.{i}.unit_id": r.unit_id for i, r in enumerate(body.requests)},
        customer_id=body.customer.customer_id,
    )
    errors.raise_if_any()
    routed = await _route_each(body, links)
    # requests the rules cannot place stay together for the center (its manual-dispatch queue)
    plans = split_requests(
        [Request(r.category, routed[i].unit_id, r.subtype, r.description) for i, r in enumerate(body.requests)],
        policy.rank,
    )
    phones: set[str | None] = set()
    id_cards: set[str | None] = set()
    for plan in plans:
        before = len(errors.errors)
        phone, id_card = check_customer(errors, plan.category, body.customer, body.callback)
        phones.add(phone)
        id_cards.add(id_card)
        if len(errors.errors) > before:
            break  # one message per customer field is enough
    errors.raise_if_any()
    customer = _customer(body.customer, next(iter(phones)), next(iter(id_cards)))
    results: list[CallTicket] = []
    for plan in plans:
        indexes = [i for i in range(len(body.requests)) if routed[i].unit_id == plan.unit]
        group = [body.requests[i] for i in indexes]
        complaint = next((r.complaint for r in group if r.category is Category.COMPLAINT), None)
        subtype = next((r.subtype for r in group if r.category is plan.category), None)
        order = Order(
            branch=branch,
            channel=body.channel,
            category=plan.category,
            subtype=subtype if plan.category is Category.SERVICE_REQUEST else None,
            customer=customer,
            location=_location(body.location),
            description=_description(group),
            complaint=complaint if plan.category is Category.COMPLAINT else None,
            hazardous=any(r.hazardous for r in group) or plan.category is Category.ALARM,
            urgent=any(r.urgent for r in group) or plan.category is Category.ALARM,
            callback=body.callback,
            call_id=call_id,
            unit_id=plan.unit,
            parent_ticket_id=None,
            received_at=now,
        )
        received = await receive(session, order, caller, clock, policies, policy, correlation_id=call_id)
        results.append(CallTicket(received, [(i, routed[i]) for i in indexes]))
    return results


def summary(tickets: list[CallTicket], body: CallRequestsIn) -> str:
    """One line per ticket the agent can read out: which requests, which unit, and what decided it."""
    lines = []
    for ticket in tickets:
        parts = []
        for index, routed in ticket.placements:
            request = body.requests[index]
            what = request.category.value + (f"/{request.subtype.value}" if request.subtype else "")
            if routed.source == "agent":
                why = "named by the agent"
            elif routed.source == "routing_rules":
                why = f"routing rule {routed.rule_id}" if routed.rule_id else "routing rules"
            else:
                why = f"no routing rule decides, the center dispatches it ({routed.detail})"
            parts.append(f"{what} ({why})")
        unit = ticket.placements[0][1].unit_id or "the center's queue"
        number = ticket.received.ticket.ticket_number
        lines.append(f"{number} -> {unit}: {', '.join(parts)}")
    return f"{len(tickets)} ticket(s): " + "; ".join(lines)
