"""The customers' self-service pages (issue 21 part 3), phone first: sign in by SMS code, raise a request, follow
one's own tickets, rate a closed one. Plain forms (no script needed), every error beside its input."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from services.console.api.deps import AnyPage, Page, Posted, console, set_cookie
from services.console.handlers import self_service as ss
from shared.policy.self_service import WEB_CATEGORIES

router = APIRouter(prefix="/self-service")
HOME = "/self-service/tickets"


def _branch(page: Page) -> str:
    app = console(page.request)
    chosen = app.settings.self_service_branch
    return chosen or (app.service.branch if app.service.branch != "default" else "demo")


def _token(page: Page) -> str | None:
    return page.request.cookies.get(ss.CUSTOMER_COOKIE)


def _render(page: Page, template: str, status: int = 200, **context: Any) -> Response:
    phone = page.request.cookies.get(ss.CUSTOMER_PHONE_COOKIE)
    return page.render(
        f"selfservice/{template}",
        status=status,
        customer_phone=phone,
        steps=ss.STEP_LABELS,
        ratings=ss.RATING_LABELS,
        **context,
    )


def _address(page: Page) -> str | None:
    """The browser's address as the console sees it (behind a proxy: run uvicorn with its proxy headers)."""
    return page.request.client.host if page.request.client else None


def _waiting(refusal: ss.Refusal, response: Response) -> Response:
    """A refusal that names a wait (too soon, too many from this device) says it in Retry-After too."""
    if "seconds" in refusal.facts:
        response.headers["Retry-After"] = refusal.facts["seconds"]
    return response


def _to_sign_in() -> Response:
    response = RedirectResponse("/self-service", status_code=303)
    response.delete_cookie(ss.CUSTOMER_COOKIE, path="/")
    response.delete_cookie(ss.CUSTOMER_PHONE_COOKIE, path="/")
    return response


async def _form(page: Page) -> dict[str, str]:
    form = await page.request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


@router.get("")
async def start(page: AnyPage) -> Response:
    if _token(page):
        return RedirectResponse(HOME, status_code=303)
    return _render(page, "sign_in.html", step="phone", errors={}, phone="")


@router.post("/code")
async def ask_code(page: Posted) -> Response:
    form = await _form(page)
    phone = form.get("phone", "").strip()
    try:
        sent = await ss.ask_code(console(page.request).apis, _branch(page), phone, _address(page))
    except ss.Refusal as refusal:
        step = "code" if form.get("challenge_id") else "phone"
        status = 429 if "seconds" in refusal.facts else 422
        return _waiting(
            refusal,
            _render(
                page,
                "sign_in.html",
                status=status,
                step=step,
                errors=refusal.errors,
                facts=refusal.facts,
                phone=phone,
                challenge_id=form.get("challenge_id", ""),
                masked=form.get("masked", ""),
            ),
        )
    return _render(
        page,
        "sign_in.html",
        step="code",
        errors={},
        phone=phone,
        challenge_id=sent["challenge_id"],
        masked=sent["phone"],
    )


@router.post("/sign-in")
async def sign_in(page: Posted) -> Response:
    form = await _form(page)
    try:
        signed = await ss.sign_in(
            console(page.request).apis, form.get("challenge_id", ""), form.get("code", ""), _address(page)
        )
    except ss.Refusal as refusal:
        return _waiting(
            refusal,
            _render(
                page,
                "sign_in.html",
                status=429 if "seconds" in refusal.facts else 422,
                step="code",
                errors=refusal.errors,
                facts=refusal.facts,
                phone=form.get("phone", ""),
                challenge_id=form.get("challenge_id", ""),
                masked=form.get("masked", ""),
            ),
        )
    response = RedirectResponse(HOME, status_code=303)
    minutes = 30 * 60
    set_cookie(page.request, response, ss.CUSTOMER_COOKIE, signed["session_token"], minutes)
    set_cookie(page.request, response, ss.CUSTOMER_PHONE_COOKIE, signed["phone"], minutes)
    return response


@router.post("/sign-out")
async def sign_out(page: Posted) -> Response:
    await ss.sign_out(console(page.request).apis, _token(page))
    return _to_sign_in()


@router.get("/tickets")
async def tickets(page: AnyPage, number: str | None = None) -> Response:
    apis = console(page.request).apis
    try:
        if number is not None:
            found = await ss.own_ticket(apis, _token(page), number)
            return RedirectResponse(f"/self-service/tickets/{found['ticket_number']}", status_code=303)
        rows = await ss.own_tickets(apis, _token(page))
    except ss.Refusal as refusal:
        if refusal.signed_out:
            return _to_sign_in()
        listed = await _rows_or_none(page)
        if listed is None:
            return _to_sign_in()
        return _render(page, "tickets.html", status=404, tickets=listed, errors=refusal.errors, number=number or "")
    return _render(page, "tickets.html", tickets=rows, errors={}, number="")


async def _rows_or_none(page: Page) -> list[dict[str, Any]] | None:
    try:
        return await ss.own_tickets(console(page.request).apis, _token(page))
    except ss.Refusal:
        return None


@router.get("/new")
async def new_request(page: AnyPage) -> Response:
    if not _token(page):
        return _to_sign_in()
    return _new_form(page, {}, {"key": secrets.token_urlsafe(16)})


def _new_form(page: Page, errors: dict[str, str], form: dict[str, str], status: int = 200) -> Response:
    return _render(
        page,
        "new.html",
        status=status,
        errors=errors,
        form=form,
        categories=WEB_CATEGORIES,
        subtypes=ss.SUBTYPES,
        complaint_types=ss.COMPLAINT_TYPES,
    )


async def _uploads(page: Page) -> tuple[list[tuple[str, bytes]], list[int]]:
    """The photos chosen on the form and their real sizes (an input left empty sends a nameless empty part)."""
    files, sizes = [], []
    for value in (await page.request.form()).getlist("photos"):
        if isinstance(value, UploadFile) and (value.filename or value.size):
            data = await value.read(ss.READ_LIMIT)
            files.append((value.filename or "", data))
            sizes.append(value.size if value.size is not None else len(data))
    return files, sizes


@router.post("/new")
async def send_request(page: Posted) -> Response:
    form = await _form(page)
    key = form.get("key") or secrets.token_urlsafe(16)
    form["key"] = key
    photos, refused = ss.check_uploads(*await _uploads(page))
    errors = ss.check_request(form)
    if refused:  # nothing is sent: the customer chooses the photos again
        gettext = page.language.gettext
        errors["photos"] = " ".join(gettext(message) % values for message, values in refused)
    if errors:
        return _new_form(page, errors, form, status=422)
    try:
        created = await ss.raise_request(console(page.request).apis, _token(page), form, key, photos)
    except ss.Refusal as refusal:
        if refusal.signed_out:
            return _to_sign_in()
        return _new_form(page, refusal.errors, form, status=422)
    return RedirectResponse(f"/self-service/tickets/{created['ticket_number']}?new=1", status_code=303)


@router.get("/tickets/{number}")
async def ticket(page: AnyPage, number: str, new: int = 0) -> Response:
    try:
        found = await ss.own_ticket(console(page.request).apis, _token(page), number)
    except ss.Refusal as refusal:
        if refusal.signed_out:
            return _to_sign_in()
        return RedirectResponse(f"{HOME}?number={number}", status_code=303)
    return _render(page, "ticket.html", t=found, errors={}, created=bool(new), form={})


@router.post("/tickets/{number}/rating")
async def rate(page: Posted, number: str) -> Response:
    form = await _form(page)
    apis = console(page.request).apis
    try:
        await ss.rate(apis, _token(page), number, form.get("rating", ""), form.get("comment", ""))
    except ss.Refusal as refusal:
        if refusal.signed_out:
            return _to_sign_in()
        try:
            found = await ss.own_ticket(apis, _token(page), number)
        except ss.Refusal:
            return _to_sign_in()
        return _render(page, "ticket.html", status=422, t=found, errors=refusal.errors, created=False, form=form)
    return RedirectResponse(f"/self-service/tickets/{number}?rated=1", status_code=303)
