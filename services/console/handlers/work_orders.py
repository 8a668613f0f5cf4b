"""The work-order form: request bodies for intake, routing previews, the split of one call's requests."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

from services.console.clients import ApiFailure, Apis
from services.console.handlers.common import OPEN_STATUSES_CLOSED
from services.console.schemas import WorkOrderForm, form_field
from shared.policy.categories import Category, Request, split_requests

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
    if form.parent_ticket_id:
        body["parent_ticket_id"] = form.parent_ticket_id
    if form.resolve_on_call or form.category == Category.QUERY.value:
        # RULES.md §1: query, consultation, simple repair and praise may be answered on the call
        body["first_contact_resolution"] = {"answer": form.answer}
        if form.knowledge_article_id:
            body["first_contact_resolution"]["knowledge_article_id"] = form.knowledge_article_id
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
