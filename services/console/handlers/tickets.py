"""The ticket page, its clocks in working time, search and the call pop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.console.clients import ApiFailure, Apis
from services.console.handlers.common import OPEN_STATUSES_CLOSED
from services.console.store import BrowserSession
from shared.policy.calendar import WorkingDayCalendar
from shared.policy.categories import Category
from shared.policy.limits import ComplaintLevel, LimitUnit, SlaClock, limit_for
from shared.policy.remaining import time_left

# --------------------------------------------------------------------------- ticket page, search, call pop


async def _optional(coroutine: Any) -> Any:
    try:
        return await coroutine
    except ApiFailure:
        return None


@dataclass
class TicketPage:
    ticket: dict[str, Any]
    timers: list[dict[str, Any]]
    callbacks: list[dict[str, Any]]


async def ticket_page(apis: Apis, session: BrowserSession, ticket_id: str) -> TicketPage:
    """The ticket as intake sees it, the live clocks from the SLA monitor, its callbacks (agents only)."""
    token = session.access_token
    reads = [
        apis.call("intake", "GET", f"/api/v1/tickets/{ticket_id}", token),
        _optional(apis.call("sla", "GET", f"/api/v1/sla/tickets/{ticket_id}/timers", token)),
    ]
    if session.role in ("agent", "center_supervisor"):
        reads.append(
            _optional(apis.call("callback", "GET", "/api/v1/callbacks", token, params={"ticket_id": ticket_id}))
        )
    results = await asyncio.gather(*reads)
    timers = (results[1] or {}).get("timers", []) if len(results) > 1 else []
    callbacks = results[2] or [] if len(results) > 2 else []
    return TicketPage(ticket=results[0], timers=timers, callbacks=callbacks)


def _working_days(ticket: dict[str, Any], clock: str) -> bool:
    """Whether the clock's limit is in working days (RULES.md §2), for a countdown that pauses on days off."""
    try:
        level = ticket.get("complaint_level")
        limit = limit_for(Category(ticket["category"]), SlaClock(clock), level=ComplaintLevel(level) if level else None)
    except (KeyError, ValueError):
        return False
    return limit.unit is LimitUnit.WORKING_DAYS


def clock_rows(page: TicketPage, now: datetime, calendar: WorkingDayCalendar | None = None) -> list[dict[str, Any]]:
    """Each clock with its deadline and the time left (from the SLA monitor; intake's view where it has none).

    Working-day clocks count only working time and are shown paused on a day off, with the day's reason.
    """
    by_clock: dict[str, dict[str, Any]] = {c["clock"]: dict(c) for c in page.ticket.get("clocks", [])}
    for timer in page.timers:
        row = by_clock.setdefault(timer["clock"], {"clock": timer["clock"]})
        row.update(
            deadline=timer["deadline"],
            started_at=timer["started_at"],
            provisional=timer["provisional"],
            warned=timer["warned"],
            breached=timer["breached"],
            extended=timer.get("extended", False),
            state="running" if timer["running"] else (row.get("state") or "stopped"),
        )
    rows = []
    zone = now.tzinfo if isinstance(now.tzinfo, ZoneInfo) else ZoneInfo("Asia/Shanghai")
    for row in by_clock.values():
        deadline = row.get("deadline")
        left: float | None = None
        paused: str | None = None
        working = _working_days(page.ticket, row["clock"])
        if deadline and row.get("state") == "running":
            end = datetime.fromisoformat(deadline)
            if working and calendar is not None:
                remaining = time_left(now, end, working_days=True, calendar=calendar, tz=zone)
                left = remaining.left.total_seconds()
                if remaining.paused is not None:
                    paused = remaining.paused.name or remaining.paused.kind.value
            else:
                left = (end - now).total_seconds()
        rows.append({**row, "left_seconds": left, "working_days": working, "paused": paused})
    order = ("dispatch", "contact", "handle", "resolve", "callback")
    rows.sort(key=lambda r: order.index(r["clock"]) if r["clock"] in order else 9)
    return rows


@dataclass
class Criteria:
    number: str = ""
    phone: str = ""
    address: str = ""
    status: str = ""
    category: str = ""
    since: str = ""
    until: str = ""

    def any(self) -> bool:
        return any(vars(self).values())


def _day_bound(day: str, zone: Any, end: bool) -> str | None:
    if not day:
        return None
    start = datetime.fromisoformat(day).replace(tzinfo=zone)
    return (start + timedelta(days=1) if end else start).isoformat()


async def search(apis: Apis, token: str, criteria: Criteria, zone: Any) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Tickets matching the criteria (intake applies the caller's scope); errors per input."""
    try:
        params = {
            "number": criteria.number,
            "phone": criteria.phone,
            "address": criteria.address,
            "status": criteria.status,
            "category": criteria.category,
            "since": _day_bound(criteria.since, zone, False),
            "until": _day_bound(criteria.until, zone, True),
            "limit": 50,
        }
    except ValueError:
        return [], {"since": "a date like 2026-03-09"}
    try:
        page = await apis.call("intake", "GET", "/api/v1/tickets", token, params=params)
    except ApiFailure as failure:
        errors = {path.removeprefix("query."): message for path, message in failure.fields.items()}
        return [], errors or {"form": failure.message}
    return list(page["tickets"]), {}


@dataclass
class CallPop:
    call_id: str
    found: bool
    pop: dict[str, Any] = field(default_factory=dict)
    open_tickets: list[dict[str, Any]] = field(default_factory=list)
    recent_at_address: list[dict[str, Any]] = field(default_factory=list)


async def call_pop(apis: Apis, session: BrowserSession, call_id: str, caller_number: str | None) -> CallPop:
    """The caller's records (masked), open tickets with their clocks, recent tickets at the same address."""
    token = session.access_token
    if not caller_number:
        return CallPop(call_id, False)
    pop = await _optional(
        apis.call("intake", "GET", "/api/v1/customers/history", token, params={"phone": caller_number})
    )
    if pop is None:
        return CallPop(call_id, False)
    open_ids = [t["ticket_id"] for t in pop["tickets"] if t["status"] not in OPEN_STATUSES_CLOSED][:5]
    views = await asyncio.gather(
        *(_optional(apis.call("intake", "GET", f"/api/v1/tickets/{t}", token)) for t in open_ids)
    )
    nearby: list[dict[str, Any]] = []
    if pop["customers"]:
        customer_id = pop["customers"][0]["customer_id"]
        found = await _optional(
            apis.call("intake", "GET", "/api/v1/tickets", token, params={"customer_id": customer_id, "limit": 10})
        )
        nearby = list((found or {}).get("tickets", []))
    return CallPop(call_id, True, pop, [v for v in views if v], nearby)
