"""The ticket page (clocks, timeline, actions), reveal with a reason, search, the identity check before a query."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from services.console import handlers
from services.console.api.deps import SignedIn, SignedInPost, console
from services.console.clients import ApiFailure
from services.console.handlers.ticket_extras import attachments_of, page_actions
from shared.policy.categories import DEFAULT_RANK

router = APIRouter()

STATUSES = ("received", "dispatched", "accepted", "contacted", "returned", "replied", "reopened", "closed")


@router.get("/tickets/{ticket_id}")
async def ticket(page: SignedIn, ticket_id: str, created: str = "") -> Response:
    app = console(page.request)
    try:
        data = await handlers.ticket_page(app.apis, page.user, ticket_id)
    except ApiFailure as failure:
        return page.render("error.html", status=failure.status, message=failure.message)
    return page.render(
        "ticket.html",
        page_data=data,
        t=data.ticket,
        clocks=handlers.clock_rows(data, app.clock.now().astimezone(app.zone), app.calendar),
        created=created,
        # the ticket's allowed_actions for this person (intake decides them; it checks again on every call)
        actions=page_actions(page.user.role, data.ticket),
        attachments=attachments_of(data.ticket),
    )


@router.get("/tickets/{ticket_id}/live")
async def ticket_live(page: SignedIn, ticket_id: str) -> Response:
    """htmx: the status line and the clocks again (after an event of the ticket arrived)."""
    app = console(page.request)
    try:
        data = await handlers.ticket_page(app.apis, page.user, ticket_id)
    except ApiFailure as failure:
        return page.render("error.html", status=failure.status, message=failure.message)
    return page.render(
        "_ticket_live.html",
        t=data.ticket,
        clocks=handlers.clock_rows(data, app.clock.now().astimezone(app.zone), app.calendar),
    )


@router.get("/tickets/{ticket_id}/timeline")
async def timeline(page: SignedIn, ticket_id: str) -> Response:
    """The timeline's entries as intake has them (the page merges what it missed before its stream opened)."""
    try:
        view = await console(page.request).apis.call("intake", "GET", f"/api/v1/tickets/{ticket_id}", page.token)
    except ApiFailure as failure:
        return page.render("error.html", status=failure.status, message=failure.message)
    return page.render("_timeline.html", t=view)


@router.post("/tickets/{ticket_id}/reveal")
async def reveal(
    page: SignedInPost, ticket_id: str, field: Annotated[str, Form()], reason: Annotated[str, Form()] = ""
) -> Response:
    """RULES.md §6: a personal field in clear, with the reason the owning service audits."""
    if len(reason.strip()) < 3:
        return page.render(
            "_revealed.html",
            status=422,
            field=field,
            error=page.language.gettext("Give the reason (at least 3 characters)"),
            ticket_id=ticket_id,
        )
    try:
        answer = await console(page.request).apis.call(
            "intake",
            "POST",
            f"/api/v1/tickets/{ticket_id}/reveal",
            page.token,
            json={"field": field, "reason": reason.strip()},
        )
    except ApiFailure as failure:
        return page.render(
            "_revealed.html", status=failure.status, field=field, error=failure.message, ticket_id=ticket_id
        )
    return page.render("_revealed.html", field=field, value=answer.get("value"), ticket_id=ticket_id)


@router.get("/search")
async def search(
    page: SignedIn,
    number: str = "",
    phone: str = "",
    address: str = "",
    status: str = "",
    category: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    criteria = handlers.Criteria(number, phone, address, status, category, since, until)
    results: list[dict[str, object]] = []
    errors: dict[str, str] = {}
    if criteria.any():
        results, errors = await handlers.search(console(page.request).apis, page.token, criteria, page.language.zone)
    return page.render(
        "search.html",
        criteria=criteria,
        results=results,
        errors=errors,
        searched=criteria.any(),
        statuses=STATUSES,
        categories=[c.value for c in DEFAULT_RANK],
    )


@router.get("/customers/{customer_id}/verify")
async def verify_form(page: SignedIn, customer_id: str) -> Response:
    return page.render("verify.html", customer_id=customer_id, errors={}, account=None, values={})


@router.post("/customers/{customer_id}/verify")
async def verify(
    page: SignedInPost,
    customer_id: str,
    name: Annotated[str, Form()] = "",
    id_number: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
) -> Response:
    """RULES.md §1 query, §6: identity verified before any account data; the lockout shows when it bites."""
    values = {"name": name, "id_number": id_number, "address": address, "phone": phone}
    body = {k: v.strip() for k, v in values.items() if v.strip()}
    try:
        account = await console(page.request).apis.call(
            "intake", "POST", f"/api/v1/customers/{customer_id}/account-query", page.token, json=body
        )
    except ApiFailure as failure:
        locked = failure.status in (423, 429) or failure.code in ("locked", "identity_locked", "too_many_attempts")
        return page.render(
            "verify.html",
            status=failure.status,
            customer_id=customer_id,
            account=None,
            values=values,
            errors={"form": failure.message},
            locked=locked,
        )
    return page.render("verify.html", customer_id=customer_id, account=account, errors={}, values={})
