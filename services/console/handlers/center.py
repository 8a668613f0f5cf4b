"""The center supervisor's queues: replies to review, returns and unroutable tickets to dispatch, extensions,
supervision; each read from dispatch with the supervisor's token (dispatch scopes them to the branch)."""

from __future__ import annotations

import asyncio
from typing import Any

from services.console.clients import ApiFailure, Apis
from services.console.handlers.work import OPEN_STATUSES, annotate


async def _optional(coroutine: Any) -> Any:
    try:
        return await coroutine
    except ApiFailure:
        return None


async def counts(apis: Apis, token: str) -> dict[str, int]:
    """How much waits in each queue (the home's badges)."""
    reviews, queue, extensions = await asyncio.gather(
        _optional(apis.call("dispatch", "GET", "/api/v1/center/reviews", token)),
        _optional(apis.call("dispatch", "GET", "/api/v1/center/queue", token)),
        _optional(apis.call("dispatch", "GET", "/api/v1/center/extensions", token)),
    )
    queue = queue or []
    return {
        "reviews": len(reviews or []),
        "returns": sum(1 for t in queue if t["status"] == "returned"),
        "queue": sum(1 for t in queue if t["status"] == "queued"),
        "extensions": len(extensions or []),
    }


async def reviews(apis: Apis, token: str) -> list[dict[str, Any]]:
    """Each replied ticket with the reply that waits for review (oldest deadline first, as dispatch sorts)."""
    summaries = await apis.call("dispatch", "GET", "/api/v1/center/reviews", token)
    details = await asyncio.gather(
        *(_optional(apis.call("dispatch", "GET", f"/api/v1/tickets/{t['ticket_id']}", token)) for t in summaries[:50])
    )
    out = []
    for ticket in details:
        if ticket is None:
            continue
        pending = [r for r in ticket["replies"] if r["status"] == "pending"]
        out.append({**ticket, "reply": pending[-1] if pending else None})
    return out


async def units(apis: Apis, token: str) -> list[dict[str, Any]]:
    """The branch's active units (the dispatch picker), with their division."""
    org = await apis.call("dispatch", "GET", "/api/v1/org", token)
    return [
        {**u, "division_name": d["name"]} for d in org["divisions"] if d["active"] for u in d["units"] if u["active"]
    ]


async def suggestion(apis: Apis, token: str, ticket: dict[str, Any]) -> dict[str, Any] | None:
    """Where the routing rules would send the ticket now (nothing is dispatched)."""
    body = {
        "category": ticket["category"],
        "subtype": ticket.get("subtype"),
        "district": ticket.get("district"),
        "community": ticket.get("community"),
    }
    found: dict[str, Any] | None = await _optional(
        apis.call("dispatch", "POST", "/api/v1/org/route-preview", token, json=body)
    )
    return found


async def dispatch_queue(apis: Apis, token: str, status: str) -> list[dict[str, Any]]:
    """Returned (or unroutable) tickets, each with its details and the rules' suggestion."""
    queue = await apis.call("dispatch", "GET", "/api/v1/center/queue", token)
    chosen = [t for t in queue if t["status"] == status][:50]
    details = await asyncio.gather(
        *(_optional(apis.call("dispatch", "GET", f"/api/v1/tickets/{t['ticket_id']}", token)) for t in chosen)
    )
    found = [d for d in details if d is not None]
    suggestions = await asyncio.gather(*(suggestion(apis, token, t) for t in found))
    return [{**t, "suggestion": s} for t, s in zip(found, suggestions, strict=True)]


async def extensions(apis: Apis, token: str) -> list[dict[str, Any]]:
    pending: list[dict[str, Any]] = await apis.call("dispatch", "GET", "/api/v1/center/extensions", token)
    tickets = await asyncio.gather(
        *(_optional(apis.call("dispatch", "GET", f"/api/v1/tickets/{e['ticket_id']}", token)) for e in pending[:50])
    )
    return [{**e, "ticket": t} for e, t in zip(pending[:50], tickets, strict=True)]


async def flagged(apis: Apis, token: str) -> list[dict[str, Any]]:
    """Tickets under supervision (督办) and spot checks, with where each stands now."""
    params = {"status": [*OPEN_STATUSES, "approved"], "limit": 500}
    tickets: list[dict[str, Any]] = await apis.call("dispatch", "GET", "/api/v1/tickets", token, params=params)
    return annotate([t for t in tickets if t.get("supervision_flagged")])


async def ticket_by_number(apis: Apis, token: str, number: str) -> str | None:
    """The ticket id of a ticket number (intake knows the numbers)."""
    found = await _optional(apis.call("intake", "GET", "/api/v1/tickets", token, params={"number": number}))
    tickets = (found or {}).get("tickets") or []
    return str(tickets[0]["ticket_id"]) if tickets else None
