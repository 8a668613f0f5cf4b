"""The console's use cases: sign-in, work orders, the ticket page, search, the call pop, the callback desk.

Each takes the signed-in user's token and the APIs, calls the service that owns the data and returns what
the page shows; every authorisation decision stays in that service (DESIGN.md: backend for the browser).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import jwt

from services.console.clients import ApiFailure, Apis
from services.console.schemas import WorkOrderForm, form_field
from services.console.store import BrowserSession, NewSession, new_session
from shared.policy.calendar import WorkingDayCalendar
from shared.policy.categories import Category, Request, split_requests
from shared.policy.limits import ComplaintLevel, LimitUnit, SlaClock, limit_for
from shared.policy.remaining import time_left

OPEN_STATUSES_CLOSED = frozenset({"closed", "resolved_on_call", "resolved_on_first_contact"})


# --------------------------------------------------------------------------- sign-in


@dataclass(frozen=True)
class Claims:
    subject: str
    role: str
    branch: str
    unit: str | None
    division: str | None
    expires_at: datetime


def read_claims(access_token: str, now: datetime, expires_in: float | None) -> Claims:
    """The token's claims, to show the right pages; the services verify the signature on every call."""
    claims = jwt.decode(access_token, options={"verify_signature": False})
    exp = claims.get("exp")
    expires_at = (
        datetime.fromtimestamp(float(exp), UTC)
        if isinstance(exp, int | float)
        else now + timedelta(seconds=expires_in or 900)
    )
    return Claims(
        subject=str(claims["sub"]),
        role=str(claims.get("role", "")),
        branch=str(claims.get("branch", "")),
        unit=claims.get("unit") if isinstance(claims.get("unit"), str) else None,
        division=claims.get("division") if isinstance(claims.get("division"), str) else None,
        expires_at=expires_at,
    )


async def sign_in(
    apis: Apis, username: str, password: str, now: datetime, session_length: timedelta, locale: str | None
) -> NewSession:
    """Identity checks the password; the console keeps the tokens server-side and gives the browser a cookie."""
    answer = await apis.call(
        "identity", "POST", "/api/v1/auth/login", None, json={"username": username, "password": password}
    )
    claims = read_claims(answer["access_token"], now, answer.get("expires_in"))
    return new_session(
        username=username,
        subject=claims.subject,
        role=claims.role,
        branch=claims.branch,
        unit=claims.unit,
        division=claims.division,
        access_token=answer["access_token"],
        refresh_token=answer.get("refresh_token"),
        access_expires_at=claims.expires_at,
        locale=locale,
        extension=None,
        created_at=now,
        expires_at=now + session_length,
    )


async def fresh_token(apis: Apis, session: BrowserSession, now: datetime) -> bool:
    """Refresh the access token shortly before it expires; False when identity refuses (sign in again)."""
    if session.access_expires_at - now > timedelta(seconds=60):
        return True
    if not session.refresh_token:
        return session.access_expires_at > now
    try:
        answer = await apis.call(
            "identity", "POST", "/api/v1/auth/refresh", None, json={"refresh_token": session.refresh_token}
        )
    except ApiFailure:
        return False
    claims = read_claims(answer["access_token"], now, answer.get("expires_in"))
    session.access_token = answer["access_token"]
    session.refresh_token = answer.get("refresh_token") or session.refresh_token
    session.access_expires_at = claims.expires_at
    return True


async def sign_out(apis: Apis, session: BrowserSession) -> None:
    """Ask identity to revoke the refresh token; the browser session goes whatever it answers."""
    if session.refresh_token:
        try:
            await apis.call(
                "identity",
                "POST",
                "/api/v1/auth/logout",
                session.access_token,
                json={"refresh_token": session.refresh_token},
            )
        except ApiFailure:
            pass


# --------------------------------------------------------------------------- work orders


@dataclass
class FormResult:
    """A created work order (the tickets intake made) or the field errors to show beside the inputs."""

    tickets: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""
    precautions: list[str] = field(default_factory=list)
    urgent_notice_sent: bool = False


def _customer(form: WorkOrderForm) -> dict[str, Any]:
    customer = {
        "name": form.customer_name or None,
        "phone": form.phone or None,
        "address": form.address or None,
        "account_number": form.account_number or None,
        "id_card_number": form.id_card_number or None,
        "key_customer": form.key_customer,
    }
    return {k: v for k, v in customer.items() if v not in (None, "")}


def _location(form: WorkOrderForm) -> dict[str, Any]:
    return {k: v for k, v in {"district": form.district, "community": form.community}.items() if v}


def _callback(form: WorkOrderForm) -> dict[str, Any]:
    if form.callback_mode == "customer_time":
        return {"mode": "customer_time", "requested_at": form.callback_at or None}
    return {"mode": "declined" if form.callback_mode == "declined" else "required"}


def _complaint(form: WorkOrderForm, category: str) -> dict[str, Any] | None:
    if category != Category.COMPLAINT.value:
        return None
    try:
        count = max(1, int(form.complainant_count))
    except ValueError:
        count = 1
    return {
        "place": form.complaint_place or None,
        "complaint_type": form.complaint_type or None,
        "complainant_count": count,
        "litigation": form.litigation,
        "media_exposure": form.media_exposure,
    }


def ticket_body(form: WorkOrderForm) -> dict[str, Any]:
    """POST /api/v1/tickets for one request (first-contact resolution included when the agent answered it)."""
    body: dict[str, Any] = {
        "category": form.category,
        "description": form.description,
        "customer": _customer(form),
        "location": _location(form),
        "hazardous": form.hazardous,
        "urgent": form.urgent,
        "callback": _callback(form),
    }
    if form.subtype:
        body["subtype"] = form.subtype
    complaint = _complaint(form, form.category)
    if complaint is not None:
        body["complaint"] = complaint
    if form.call_id:
        body["call_id"] = form.call_id
    if form.unit_id:
        body["unit_id"] = form.unit_id
    if form.resolve_on_call or form.category == Category.QUERY.value:
        # RULES.md §1: query, consultation, simple repair and praise may be answered on the call
        body["first_contact_resolution"] = {"answer": form.answer}
        body["callback"] = {"mode": "declined"}
    return body


def alarm_body(form: WorkOrderForm) -> dict[str, Any]:
    """POST /api/v1/alarms: RULES.md §1 alarm, the unit phoned right after the call, the ticket back-filled."""
    scene = form.description
    if form.unit_phoned_at:
        scene = f"{scene}\n[unit phoned at {form.unit_phoned_at}]".strip()
    body: dict[str, Any] = {
        "address": form.address,
        "name": form.customer_name,
        "phone": form.phone,
        "scene": scene,
        "location": _location(form),
    }
    if form.call_id:
        body["call_id"] = form.call_id
    if form.unit_id:
        body["unit_id"] = form.unit_id
    return body


def requests_body(form: WorkOrderForm, units: list[str | None]) -> dict[str, Any]:
    """POST /api/v1/calls/{call}/requests: every request of the call with its unit, the caller given once."""
    first = {"category": form.category, "subtype": form.subtype, "description": form.description, "unit_id": units[0]}
    rows = [first] + [
        {"category": r.category, "subtype": r.subtype, "description": r.description, "unit_id": units[i + 1]}
        for i, r in enumerate(form.requests)
    ]
    requests = []
    for row in rows:
        request: dict[str, Any] = {
            "category": row["category"],
            "description": row["description"],
            "hazardous": form.hazardous,
            "urgent": form.urgent,
        }
        if row["subtype"]:
            request["subtype"] = row["subtype"]
        if row["unit_id"]:
            request["unit_id"] = row["unit_id"]
        complaint = _complaint(form, str(row["category"]))
        if complaint is not None:
            request["complaint"] = complaint
        requests.append(request)
    return {
        "customer": _customer(form),
        "location": _location(form),
        "callback": _callback(form),
        "requests": requests,
    }


def _errors(failure: ApiFailure) -> dict[str, str]:
    errors: dict[str, str] = {}
    for path, message in failure.fields.items():
        errors.setdefault(form_field(path), message)
    return errors


async def route_units(apis: Apis, token: str, form: WorkOrderForm) -> list[str | None]:
    """The unit each request of the call goes to: the agent's choice, else dispatch's routing rules."""
    rows = [(form.category, form.subtype, form.unit_id)] + [(r.category, r.subtype, r.unit_id) for r in form.requests]

    async def one(category: str, subtype: str, chosen: str) -> str | None:
        if chosen:
            return chosen
        if not category:
            return None
        body = {
            "category": category,
            "subtype": subtype or None,
            "district": form.district or None,
            "community": form.community or None,
            "address": form.address or None,
        }
        try:
            decision = await apis.call("dispatch", "POST", "/api/v1/org/route-preview", token, json=body)
        except ApiFailure:
            return None
        unit = decision.get("unit_id")
        return str(unit) if unit else None

    return list(await asyncio.gather(*(one(*row) for row in rows)))


@dataclass(frozen=True)
class PlannedTicket:
    unit_id: str | None
    category: str
    categories: tuple[str, ...]


async def preview_split(apis: Apis, token: str, form: WorkOrderForm) -> list[PlannedTicket]:
    """RULES.md §1 (§15(一)3): the tickets intake will create for the call's requests, shown before submit."""
    rows = [form.category] + [r.category for r in form.requests]
    units = await route_units(apis, token, form)
    requests = []
    for category, unit in zip(rows, units, strict=True):
        try:
            requests.append(Request(Category(category), unit))
        except ValueError:
            continue
    if not requests:
        return []
    return [
        PlannedTicket(plan.unit, plan.category.value, tuple(r.category.value for r in plan.requests))
        for plan in split_requests(requests)
    ]


async def create_work_order(apis: Apis, token: str, form: WorkOrderForm) -> FormResult:
    """Create what the form describes through intake; a 422 comes back as messages per input, nothing created."""
    try:
        if form.category == Category.ALARM.value and not form.requests:
            body = alarm_body(form)
            if "unit_id" not in body:
                # RULES.md §1 alarm: the urgent notice goes to the responsible unit at once, so route it now
                body["unit_id"] = (await route_units(apis, token, form))[0]
            answer = await apis.call("intake", "POST", "/api/v1/alarms", token, json=body)
            return FormResult(
                tickets=[answer["ticket"]],
                precautions=list(answer.get("precautions", [])),
                urgent_notice_sent=bool(answer.get("urgent_notice_sent")),
            )
        if form.requests:
            units = await route_units(apis, token, form)
            call_id = form.call_id or f"console-{uuid.uuid4().hex[:16]}"
            answer = await apis.call(
                "intake", "POST", f"/api/v1/calls/{call_id}/requests", token, json=requests_body(form, units)
            )
            return FormResult(tickets=list(answer["tickets"]))
        answer = await apis.call(
            "intake",
            "POST",
            "/api/v1/tickets",
            token,
            json=ticket_body(form),
            headers={"Idempotency-Key": f"console-{uuid.uuid4().hex}"},
        )
        return FormResult(tickets=[answer])
    except ApiFailure as failure:
        if failure.status == 422:
            return FormResult(errors=_errors(failure) or {"form": failure.message}, message=failure.message)
        return FormResult(errors={"form": failure.message}, message=failure.message)


async def open_duplicates(apis: Apis, token: str, category: str, address: str) -> list[dict[str, Any]]:
    """Open tickets of `category` whose address contains the one typed (the duplicate hint of the form)."""
    if not category or len(address.strip()) < 6:
        return []
    try:
        page = await apis.call(
            "intake",
            "GET",
            "/api/v1/tickets",
            token,
            params={"category": category, "address": address.strip(), "limit": 5},
        )
    except ApiFailure:
        return []
    return [t for t in page["tickets"] if t["status"] not in OPEN_STATUSES_CLOSED]


async def gov_tasks(apis: Apis, token: str) -> list[dict[str, Any]]:
    """The open government 12345 supervision tasks (RULES.md §1 sources), in their own list."""
    try:
        page = await apis.call("intake", "GET", "/api/v1/tickets", token, params={"channel": "gov12345", "limit": 50})
    except ApiFailure:
        return []
    return [t for t in page["tickets"] if t["status"] not in OPEN_STATUSES_CLOSED]


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


# --------------------------------------------------------------------------- callback desk


def outcome_body(form: dict[str, str], zone: Any) -> dict[str, Any]:
    """POST /callbacks/{id}/outcome from the desk's form."""
    body: dict[str, Any] = {"outcome": form.get("outcome", ""), "comment": form.get("comment", "")}
    if form.get("problem_solved") in ("yes", "no"):
        body["problem_solved"] = form["problem_solved"] == "yes"
    if form.get("satisfaction", "").isdigit():
        body["satisfaction"] = int(form["satisfaction"])
    if form.get("customer_account"):
        body["customer_account"] = form["customer_account"]
    if form.get("call_back_at"):
        try:
            body["call_back_at"] = datetime.fromisoformat(form["call_back_at"]).replace(tzinfo=zone).isoformat()
        except ValueError:
            body["call_back_at"] = form["call_back_at"]
    if form.get("new_category"):
        request: dict[str, Any] = {"category": form["new_category"], "description": form.get("new_description", "")}
        if form.get("new_subtype"):
            request["subtype"] = form["new_subtype"]
        body["new_request"] = request
    return body
