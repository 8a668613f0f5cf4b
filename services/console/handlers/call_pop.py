"""The incoming call's pop: the caller's records (masked), open tickets with their clocks, recent tickets.

RULES.md §1 / issue 16: the pop must show within a second of CallOffered, so the services are asked in two
rounds at most: the caller's history by number first, then every open ticket's view and the customer's other
tickets at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from services.console.clients import Apis
from services.console.handlers.common import OPEN_STATUSES_CLOSED
from services.console.handlers.tickets import optional

MAX_OPEN_TICKETS = 5


@dataclass
class CallPop:
    call_id: str
    found: bool
    pop: dict[str, Any] = field(default_factory=dict)
    open_tickets: list[dict[str, Any]] = field(default_factory=list)
    recent_at_address: list[dict[str, Any]] = field(default_factory=list)


async def _nothing() -> None:
    return None


async def call_pop(apis: Apis, token: str, call_id: str, caller_number: str | None) -> CallPop:
    """The caller's records (masked), open tickets with their clocks, recent tickets of the same customer."""
    if not caller_number:
        return CallPop(call_id, False)
    pop = await optional(
        apis.call("intake", "GET", "/api/v1/customers/history", token, params={"phone": caller_number})
    )
    if pop is None:
        return CallPop(call_id, False)
    open_ids = [t["ticket_id"] for t in pop["tickets"] if t["status"] not in OPEN_STATUSES_CLOSED]
    customer = pop["customers"][0]["customer_id"] if pop["customers"] else None
    nearby = (
        optional(apis.call("intake", "GET", "/api/v1/tickets", token, params={"customer_id": customer, "limit": 10}))
        if customer
        else _nothing()
    )
    views = [optional(apis.call("intake", "GET", f"/api/v1/tickets/{t}", token)) for t in open_ids[:MAX_OPEN_TICKETS]]
    found, *opened = await asyncio.gather(nearby, *views)
    return CallPop(call_id, True, pop, [v for v in opened if v], list((found or {}).get("tickets", [])))
