"""The unit handler's pages (phone first): the inbox by nearest deadline, and the ticket with its actions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response

from services.console.api.deps import Page, SignedIn, SignedInPost, console
from services.console.clients import ApiFailure
from services.console.handlers import attachments, work
from shared.policy.categories import DEFAULT_RANK

router = APIRouter(prefix="/unit")

RETURN_REASONS = ("outside_duties", "wrong_or_missing_information", "customer_unreachable")
CONTACT_METHODS = ("phone", "sms", "visit", "other")
UNIT_CLOCKS = ("contact", "handle", "resolve")


def _unit_only(page: Page) -> Response | None:
    if page.user.role != "unit_handler":
        return page.render("error.html", status=403, message=page.language.gettext("This page is for unit handlers"))
    return None


async def _inbox(page: Page, status: str, category: str) -> list[dict[str, Any]]:
    tickets: list[dict[str, Any]] = await console(page.request).apis.call(
        "dispatch", "GET", "/api/v1/unit/inbox", page.token
    )
    # dispatch answers nearest deadline first (RULES.md §9); the filters keep that order
    return [
        {**t, "next": work.next_clock(t), "is_overdue": work.overdue(t)}
        for t in tickets
        if (not status or t["status"] == status) and (not category or t["category"] == category)
    ]


@router.get("")
async def inbox(page: SignedIn, status: str = "", category: str = "") -> Response:
    refused = _unit_only(page)
    if refused is not None:
        return refused
    try:
        tickets = await _inbox(page, status, category)
    except ApiFailure as failure:
        return page.render("error.html", status=failure.status, message=failure.message)
    roles = await work.my_roles(console(page.request).apis, page.token)
    return page.render(
        "unit/inbox.html",
        tickets=tickets,
        chosen_status=status,
        category=category,
        categories=[c.value for c in DEFAULT_RANK],
        roles=roles,
    )


@router.get("/inbox")
async def inbox_rows(page: SignedIn, status: str = "", category: str = "") -> Response:
    """htmx: the inbox's list again (a ticket arrived or changed)."""
    refused = _unit_only(page)
    if refused is not None:
        return refused
    try:
        tickets = await _inbox(page, status, category)
    except ApiFailure as failure:
        return page.render("error.html", status=failure.status, message=failure.message)
    return page.render("unit/_inbox_rows.html", tickets=tickets)


def _show(page: Page, ticket: dict[str, Any] | None, outcome: work.Outcome | None = None, **extra: Any) -> Response:
    if ticket is None:
        message = outcome.error if outcome is not None else ""
        return page.render("error.html", status=404, message=message)
    app = console(page.request)
    now = app.clock.now()
    status = 200
    if outcome is not None and outcome.error and not outcome.conflict:
        status = 422
    return page.render(
        "unit/ticket.html",
        status=status,
        t=ticket,
        outcome=outcome,
        saved_at=now,
        next=work.next_clock(ticket),
        return_reasons=RETURN_REASONS,
        contact_methods=CONTACT_METHODS,
        unit_clocks=[c for c in ticket.get("clocks") or [] if c["clock"] in UNIT_CLOCKS and c["running"]],
        now_local=now.astimezone(app.zone).strftime("%Y-%m-%dT%H:%M"),
        **extra,
    )


@router.get("/tickets/{ticket_id}")
async def ticket(page: SignedIn, ticket_id: str) -> Response:
    refused = _unit_only(page)
    if refused is not None:
        return refused
    try:
        data = await work.dispatch_ticket(console(page.request).apis, page.token, ticket_id)
    except ApiFailure as failure:
        return page.render("error.html", status=failure.status, message=failure.message)
    return _show(page, data)


def _version(value: str) -> int | None:
    return int(value) if value.isdigit() and int(value) > 0 else None


async def _act(
    page: Page,
    ticket_id: str,
    path: str,
    body: dict[str, Any],
    saved: str,
    form: str = "",
    rename: dict[str, str] | None = None,
) -> Response:
    outcome = await work.act(console(page.request).apis, page.token, ticket_id, path, body, saved, rename)
    return _show(page, outcome.ticket, outcome, open_form=form if outcome.error and not outcome.conflict else "")


@router.post("/tickets/{ticket_id}/accept")
async def accept(page: SignedInPost, ticket_id: str, expected_version: Annotated[str, Form()] = "") -> Response:
    return await _act(page, ticket_id, "accept", {"expected_version": _version(expected_version)}, "Accepted")


@router.post("/tickets/{ticket_id}/contact")
async def contact(
    page: SignedInPost,
    ticket_id: str,
    method: Annotated[str, Form()] = "phone",
    contacted_at: Annotated[str, Form()] = "",
    appointment_at: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    expected_version: Annotated[str, Form()] = "",
) -> Response:
    zone = console(page.request).zone
    when = work.local_instant(contacted_at, zone)
    appointment = work.local_instant(appointment_at, zone)
    body = {
        "method": method,
        "contacted_at": when.isoformat() if when else None,
        "appointment_at": appointment.isoformat() if appointment else None,
        "note": note.strip(),
        "expected_version": _version(expected_version),
    }
    return await _act(page, ticket_id, "contact", body, "Contact recorded", "contact")


@router.post("/tickets/{ticket_id}/return")
async def return_ticket(
    page: SignedInPost,
    ticket_id: str,
    reason: Annotated[str, Form()] = "",
    return_text: Annotated[str, Form()] = "",
    expected_version: Annotated[str, Form()] = "",
) -> Response:
    if not return_text.strip():
        outcome = work.Outcome(
            await work.dispatch_ticket(console(page.request).apis, page.token, ticket_id),
            error=page.language.gettext("Say why the ticket goes back"),
            fields={"return_text": "Say why the ticket goes back"},
        )
        return _show(page, outcome.ticket, outcome, open_form="return")
    body = {"reason": reason, "reason_text": return_text.strip(), "expected_version": _version(expected_version)}
    rename = {"reason_text": "return_text"}
    return await _act(page, ticket_id, "return", body, "Returned to the center", "return", rename)


@router.post("/tickets/{ticket_id}/extension")
async def extension(
    page: SignedInPost,
    ticket_id: str,
    clock: Annotated[str, Form()] = "",
    requested_deadline: Annotated[str, Form()] = "",
    ext_reason: Annotated[str, Form()] = "",
    expected_version: Annotated[str, Form()] = "",
) -> Response:
    apis = console(page.request).apis
    deadline = work.local_instant(requested_deadline, console(page.request).zone)
    problems = {}
    if deadline is None:
        problems["requested_deadline"] = "Give the new deadline"
    if not ext_reason.strip():
        problems["ext_reason"] = "Say why more time is needed"
    if problems:
        outcome = work.Outcome(
            await work.dispatch_ticket(apis, page.token, ticket_id),
            error=page.language.gettext("Check the form"),
            fields=problems,
        )
        return _show(page, outcome.ticket, outcome, open_form="extension")
    assert deadline is not None
    body = {
        "clock": clock,
        "requested_deadline": deadline.isoformat(),
        "reason_text": ext_reason.strip(),
        "expected_version": _version(expected_version),
    }
    rename = {"reason_text": "ext_reason"}
    return await _act(page, ticket_id, "extensions", body, "Extension requested", "extension", rename)


@router.post("/tickets/{ticket_id}/reply")
async def reply(
    page: SignedInPost,
    ticket_id: str,
    result: Annotated[str, Form()] = "",
    opinion: Annotated[str, Form()] = "",
    expected_version: Annotated[str, Form()] = "",
    files: Annotated[list[UploadFile] | None, File(alias="attachments")] = None,
) -> Response:
    """The reply with its photos and receipts (multipart): each file checked and reduced, then the reply."""
    apis = console(page.request).apis
    problems: dict[str, str] = {}
    if not result.strip():
        problems["result"] = page.language.gettext("Describe what was done")
    uploads = [f for f in files or [] if f.filename]
    prepared: list[attachments.Prepared] = []
    refusals = []
    if len(uploads) > attachments.MAX_FILES:
        refusals.append(page.language.gettext("At most %(n)s files per reply") % {"n": attachments.MAX_FILES})
    for upload in uploads[: attachments.MAX_FILES]:
        data = await upload.read(attachments.MAX_UPLOAD_BYTES + 1)
        item = attachments.prepare(upload.filename or "", data)
        if isinstance(item, attachments.Refused):
            refusals.append(page.language.gettext(item.message) % item.values)
        else:
            prepared.append(item)
    if refusals:
        problems["attachments"] = " ".join(refusals)
    if problems:
        outcome = work.Outcome(
            await work.dispatch_ticket(apis, page.token, ticket_id),
            error=page.language.gettext("Check the form"),
            fields=problems,
        )
        return _show(page, outcome.ticket, outcome, open_form="reply", values={"result": result, "opinion": opinion})
    try:
        ids = await attachments.upload(apis, page.token, ticket_id, prepared)
    except ApiFailure as failure:
        outcome = work.Outcome(
            await work.dispatch_ticket(apis, page.token, ticket_id),
            error=failure.message,
            fields={"attachments": failure.message},
            conflict=failure.status == 409,
        )
        return _show(page, outcome.ticket, outcome, open_form="reply", values={"result": result, "opinion": opinion})
    body = {
        "result": result.strip(),
        "opinion": opinion.strip(),
        "attachment_ids": ids,
        "expected_version": _version(expected_version),
    }
    outcome = await work.act(apis, page.token, ticket_id, "reply", body, "Reply sent for review")
    form = "reply" if outcome.error and not outcome.conflict else ""
    return _show(page, outcome.ticket, outcome, open_form=form, values={"result": result, "opinion": opinion})


@router.post("/tickets/{ticket_id}/reveal")
async def reveal(page: SignedInPost, ticket_id: str, reason: Annotated[str, Form()] = "") -> Response:
    """RULES.md §6: the customer's phone in clear for the unit holding the ticket, with a reason (audited)."""
    if len(reason.strip()) < 3:
        message = page.language.gettext("Give the reason (at least 3 characters)")
        return page.render("unit/_phone.html", status=422, error=message, ticket_id=ticket_id)
    try:
        answer = await console(page.request).apis.call(
            "dispatch",
            "POST",
            f"/api/v1/tickets/{ticket_id}/reveal",
            page.token,
            json={"field": "phone", "reason": reason.strip()},
        )
    except ApiFailure as failure:
        return page.render("unit/_phone.html", status=failure.status, error=failure.message, ticket_id=ticket_id)
    value = str(answer.get("value") or "")
    return page.render("unit/_phone.html", value=value, dial="".join(ch for ch in value if ch.isdigit() or ch == "+"))
