"""The center supervisor's workspace: review queue, returns, manual dispatch, extensions, supervision."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from services.console.api.deps import Page, SignedIn, SignedInPost, console
from services.console.clients import ApiFailure, Apis
from services.console.handlers import center, work
from shared.policy.categories import DEFAULT_RANK

router = APIRouter(prefix="/center")

REJECT_REASONS = ("incomplete", "inaccurate", "missing_evidence", "other")
PAGES = ("reviews", "returns", "queue", "extensions", "supervision")
Listing = Callable[[Apis, str], Awaitable[list[dict[str, Any]]]]


def _center_only(page: Page) -> Response | None:
    if page.user.role != "center_supervisor":
        message = page.language.gettext("This page is for the center's supervisors")
        return page.render("error.html", status=403, message=message)
    return None


def _back(target: str, saved: str = "", error: str = "") -> Response:
    query = f"?saved={saved}" if saved else ""
    if error:
        query = f"?error={error}"
    return RedirectResponse(f"/center/{target}{query}", status_code=303)


def _render(page: Page, template: str, tab: str, **context: Any) -> Response:
    saved = page.request.query_params.get("saved", "")
    error = page.request.query_params.get("error", "")
    now = console(page.request).clock.now()
    return page.render(template, tab=tab, saved=saved, error=error, saved_at=now, **context)


async def _list_page(page: Page, template: str, tab: str, fetch: Listing, **context: Any) -> Response:
    """One of the center's lists: for its supervisors only, the service's refusal shown as an error page."""
    refused = _center_only(page)
    if refused is not None:
        return refused
    try:
        items = await fetch(console(page.request).apis, page.token)
    except ApiFailure as failure:
        return page.render("error.html", status=failure.status, message=failure.message)
    return _render(page, template, tab, items=items, **context)


@router.get("")
async def home(page: SignedIn) -> Response:
    refused = _center_only(page)
    if refused is not None:
        return refused
    apis = console(page.request).apis
    counts = await center.counts(apis, page.token)
    return _render(page, "center/home.html", "", counts=counts, roles=await work.my_roles(apis, page.token))


@router.get("/reviews")
async def reviews(page: SignedIn) -> Response:
    return await _list_page(page, "center/reviews.html", "reviews", center.reviews, reject_reasons=REJECT_REASONS)


@router.post("/tickets/{ticket_id}/review")
async def review(
    page: SignedInPost,
    ticket_id: str,
    decision: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    reason_text: Annotated[str, Form()] = "",
    expected_version: Annotated[str, Form()] = "",
) -> Response:
    """Approve (the callback service takes it) or reject with a reason (back to the unit, RULES.md §2)."""
    body: dict[str, Any] = {"decision": decision, "expected_version": _version(expected_version)}
    if decision == "reject":
        if not reason_text.strip():
            return _back("reviews", error="reject_needs_reason")
        body.update(reason=reason or "other", reason_text=reason_text.strip())
    saved = "approved" if decision == "approve" else "rejected"
    return await _post(page, ticket_id, "review", body, "reviews", saved)


def _version(value: str) -> int | None:
    return int(value) if value.isdigit() and int(value) > 0 else None


async def _post(page: Page, ticket_id: str, path: str, body: dict[str, Any], tab: str, saved: str) -> Response:
    outcome = await work.act(console(page.request).apis, page.token, ticket_id, path, body, saved)
    if outcome.error:
        code = "conflict" if outcome.conflict else (outcome.code or "refused")
        return _back(tab, error=code)
    return _back(tab, saved=saved)


async def _queue(page: Page, status: str, tab: str) -> Response:
    refused = _center_only(page)
    if refused is not None:
        return refused
    apis = console(page.request).apis
    try:
        items = await center.dispatch_queue(apis, page.token, status)
        units = await center.units(apis, page.token)
    except ApiFailure as failure:
        return page.render("error.html", status=failure.status, message=failure.message)
    categories = [c.value for c in DEFAULT_RANK]
    return _render(page, "center/queue.html", tab, items=items, units=units, categories=categories)


@router.get("/returns")
async def returns(page: SignedIn) -> Response:
    return await _queue(page, "returned", "returns")


@router.get("/queue")
async def manual_queue(page: SignedIn) -> Response:
    return await _queue(page, "queued", "queue")


@router.post("/tickets/{ticket_id}/dispatch")
async def dispatch(
    page: SignedInPost,
    ticket_id: str,
    unit_id: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    district: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "returns",
    expected_version: Annotated[str, Form()] = "",
) -> Response:
    """Correct (category, district) and dispatch to the chosen unit (RULES.md §2: the center re-dispatches)."""
    tab = back if back in PAGES else "returns"
    body: dict[str, Any] = {"unit_id": unit_id, "expected_version": _version(expected_version)}
    if category:
        body["category"] = category
    if district.strip():
        body["district"] = district.strip()
    return await _post(page, ticket_id, "dispatch", body, tab, "dispatched")


@router.post("/tickets/{ticket_id}/refuse-return")
async def refuse_return(
    page: SignedInPost,
    ticket_id: str,
    reason_text: Annotated[str, Form()] = "",
    expected_version: Annotated[str, Form()] = "",
) -> Response:
    if not reason_text.strip():
        return _back("returns", error="reason_needed")
    body = {"reason_text": reason_text.strip(), "expected_version": _version(expected_version)}
    return await _post(page, ticket_id, "refuse-return", body, "returns", "return_refused")


@router.post("/tickets/{ticket_id}/close")
async def close(
    page: SignedInPost,
    ticket_id: str,
    reason_text: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "returns",
    expected_version: Annotated[str, Form()] = "",
) -> Response:
    tab = back if back in PAGES else "returns"
    if not reason_text.strip():
        return _back(tab, error="reason_needed")
    body = {"reason_text": reason_text.strip(), "expected_version": _version(expected_version)}
    return await _post(page, ticket_id, "close", body, tab, "closed")


@router.get("/extensions")
async def extensions(page: SignedIn) -> Response:
    return await _list_page(page, "center/extensions.html", "extensions", center.extensions)


@router.post("/tickets/{ticket_id}/extensions/{request_id}")
async def decide_extension(
    page: SignedInPost,
    ticket_id: str,
    request_id: str,
    decision: Annotated[str, Form()] = "",
    reason_text: Annotated[str, Form()] = "",
) -> Response:
    body = {"decision": decision, "reason_text": reason_text.strip()}
    saved = "granted" if decision == "grant" else "denied"
    return await _post(page, ticket_id, f"extensions/{request_id}/decision", body, "extensions", saved)


@router.get("/supervision")
async def supervision(page: SignedIn) -> Response:
    return await _list_page(page, "center/supervision.html", "supervision", center.flagged)


@router.post("/flags")
async def flag(
    page: SignedInPost,
    number: Annotated[str, Form()] = "",
    ticket_id: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "supervision",
    note: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "supervision",
) -> Response:
    """A supervision flag (督办) or a spot-check mark with a note (RULES.md §7)."""
    apis = console(page.request).apis
    tab = back if back in PAGES else "supervision"
    target = ticket_id or (await center.ticket_by_number(apis, page.token, number.strip()) if number.strip() else None)
    if not target:
        return _back(tab, error="no_such_ticket")
    body = {"kind": kind if kind in ("supervision", "spot_check") else "supervision", "note": note.strip()}
    return await _post(page, target, "flags", body, tab, "flagged")
