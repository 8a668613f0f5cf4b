"""The incoming call's pop: the caller's records (masked), open tickets with their clocks, recent tickets, and
the hot-spot and planned-interruption notices of the caller's area.

Issue 16: the pop must show within a second of CallOffered, so the services are asked in as few rounds as the
data allows: the caller's history by number; then every open ticket's view (or the newest ticket's, for the
caller's district) and the customer's other tickets at once; then the area's notices from reporting.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from services.console.area_notices import AreaNotice, area_notices
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
    district: str | None = None
    community: str | None = None
    notices: list[AreaNotice] = field(default_factory=list)


async def _nothing() -> None:
    return None


def caller_area(views: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    """The district (and community) of the caller's latest ticket that names one."""
    for view in sorted(views, key=lambda v: str(v.get("received_at", "")), reverse=True):
        location = view.get("location") or {}
        if location.get("district"):
            return str(location["district"]), location.get("community") or None
    return None, None


async def call_pop(apis: Apis, token: str, branch: str, call_id: str, caller_number: str | None) -> CallPop:
    """The caller's records (masked), open tickets with their clocks, recent tickets, the area's notices."""
    if not caller_number:
        return CallPop(call_id, False)
    pop = await optional(
        apis.call("intake", "GET", "/api/v1/customers/history", token, params={"phone": caller_number})
    )
    if pop is None:
        return CallPop(call_id, False)
    open_ids = [t["ticket_id"] for t in pop["tickets"] if t["status"] not in OPEN_STATUSES_CLOSED]
    # no open ticket: the newest one still says where the caller is (intake lists open ones first, then newest)
    read_ids = open_ids[:MAX_OPEN_TICKETS] or [t["ticket_id"] for t in pop["tickets"][:1]]
    customer = pop["customers"][0]["customer_id"] if pop["customers"] else None
    nearby = (
        optional(apis.call("intake", "GET", "/api/v1/tickets", token, params={"customer_id": customer, "limit": 10}))
        if customer
        else _nothing()
    )
    views = [optional(apis.call("intake", "GET", f"/api/v1/tickets/{t}", token)) for t in read_ids]
    found, *read = await asyncio.gather(nearby, *views)
    read = [v for v in read if v]
    district, community = caller_area(read)
    notices = await area_notices(apis, token, branch, district, community)
    opened = [v for v in read if v["ticket_id"] in open_ids]
    recent = list((found or {}).get("tickets", []))
    return CallPop(call_id, True, pop, opened, recent, district, community, notices)
