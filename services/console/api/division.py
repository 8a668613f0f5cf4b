"""The division supervisor's workspace: its units' open tickets, breaches, complaints, escalations live."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from services.console.api.deps import Page, SignedIn, SignedInPost, console
from services.console.clients import ApiFailure
from services.console.handlers import work

router = APIRouter(prefix="/division")


def _division_only(page: Page) -> Response | None:
    if page.user.role != "division_supervisor" or not page.user.division:
        message = page.language.gettext("This page is for division supervisors")
        return page.render("error.html", status=403, message=message)
    return None


def _not_yours(page: Page) -> Response:
    message = page.language.gettext("This ticket belongs to another division: you cannot open it.")
    return page.render("error.html", status=403, message=message)


@router.get("")
async def home(page: SignedIn) -> Response:
    refused = _division_only(page)
    if refused is not None:
        return refused
    apis = console(page.request).apis
    params = {"status": list(work.OPEN_STATUSES), "limit": 500}
    try:
        found = await apis.call("dispatch", "GET", "/api/v1/tickets", page.token, params=params)
    except ApiFailure as failure:
        return page.render("error.html", status=failure.status, message=failure.message)
    # dispatch scopes the list to the division; the console shows nothing of another one whatever it gets
    tickets = work.annotate([t for t in found if t.get("division_id") == page.user.division])
    complaints = [t for t in tickets if t["category"] == "complaint" and t.get("complaint_level") in (1, 2)]
    return page.render(
        "division/home.html",
        tickets=tickets,
        breaches=[t for t in tickets if t["is_overdue"]],
        complaints=complaints,
        roles=await work.my_roles(apis, page.token),
    )


@router.get("/tickets/{ticket_id}")
async def ticket(page: SignedIn, ticket_id: str, saved: str = "") -> Response:
    refused = _division_only(page)
    if refused is not None:
        return refused
    try:
        data = await work.dispatch_ticket(console(page.request).apis, page.token, ticket_id)
    except ApiFailure as failure:
        if failure.status in (403, 404):
            return _not_yours(page)
        return page.render("error.html", status=failure.status, message=failure.message)
    if data.get("division_id") != page.user.division:  # the services' scope, enforced again here
        return _not_yours(page)
    now = console(page.request).clock.now()
    return page.render("division/ticket.html", t=data, next=work.next_clock(data), saved=saved, saved_at=now)


@router.post("/tickets/{ticket_id}/flags")
async def flag(
    page: SignedInPost,
    ticket_id: str,
    kind: Annotated[str, Form()] = "spot_check",
    note: Annotated[str, Form()] = "",
) -> Response:
    refused = _division_only(page)
    if refused is not None:
        return refused
    mark = kind if kind in ("supervision", "spot_check") else "spot_check"
    body: dict[str, Any] = {"kind": mark, "note": note.strip()}
    outcome = await work.act(console(page.request).apis, page.token, ticket_id, "flags", body, "flagged")
    if outcome.error:
        return (
            _not_yours(page) if outcome.ticket is None else page.render("error.html", status=422, message=outcome.error)
        )
    return RedirectResponse(f"/division/tickets/{ticket_id}?saved=flagged", status_code=303)
