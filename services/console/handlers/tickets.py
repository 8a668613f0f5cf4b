"""The ticket page, its clocks in working time, and search."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.console.clients import ApiFailure, Apis
from services.console.store import BrowserSession
from shared.policy.calendar import WorkingDayCalendar
from shared.policy.categories import Category
from shared.policy.limits import ComplaintLevel, LimitUnit, SlaClock, limit_for
from shared.policy.remaining import time_left

# --------------------------------------------------------------------------- ticket page, search


async def optional(coroutine: Any) -> Any:
    """The call's answer, or None when the service refused or is away (a part of the page left out)."""
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
        optional(apis.call("sla", "GET", f"/api/v1/sla/tickets/{ticket_id}/timers", token)),
    ]
    if session.role in ("agent", "center_supervisor"):
        reads.append(
            optional(apis.call("callback", "GET", "/api/v1/callbacks", token, params={"ticket_id": ticket_id}))
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
