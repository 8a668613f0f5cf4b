"""Sign-in and out, the home page of each role, the language and extension choices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from services.console import handlers, store
from services.console.api.deps import (
    LANG_COOKIE,
    PRE_COOKIE,
    SESSION_COOKIE,
    AnyPage,
    Posted,
    SignedIn,
    SignedInPost,
    console,
    set_cookie,
)
from services.console.api.sso import branch_of as sso_branch
from services.console.clients import ApiFailure
from services.console.handlers import work
from services.console.handlers.sso import sso_available
from services.console.i18n import LOCALES

router = APIRouter()


@router.get("/")
async def sign_in_page(page: AnyPage) -> Response:
    if page.session is not None:
        return RedirectResponse("/home", status_code=303)
    # the single sign-on button where the branch has it (issue 16)
    sso = await sso_available(console(page.request).apis, sso_branch(page))
    return page.render("sign_in.html", sso=sso)


@router.post("/sign-in")
async def sign_in(
    page: Posted, username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = ""
) -> Response:
    app = console(page.request)
    if not username.strip() or not password:
        errors = {"username": page.language.gettext("Enter your username")} if not username.strip() else {}
        if not password:
            errors["password"] = page.language.gettext("Enter your password")
        return page.render("sign_in.html", status=422, errors=errors, username=username)
    now = datetime.now(UTC)  # token and session lifetimes are wall-clock time
    chosen = page.request.cookies.get(LANG_COOKIE)
    try:
        created = await handlers.sign_in(
            app.apis,
            username.strip(),
            password,
            now,
            timedelta(hours=app.settings.session_hours),
            chosen if chosen in LOCALES else None,
        )
    except ApiFailure as failure:
        if failure.status in (400, 401, 403, 422, 423, 429):
            message = page.language.gettext("The username or password is not right")
            if failure.status in (423, 429):
                message = page.language.gettext("Too many attempts: the account is locked for a while")
            return page.render("sign_in.html", status=401, errors={"form": message}, username=username)
        return page.render(
            "sign_in.html",
            status=503,
            errors={"form": page.language.gettext("Sign-in is not available right now")},
            username=username,
        )
    page.db.add(created.row)
    await page.db.commit()
    response = RedirectResponse("/home", status_code=303)
    set_cookie(page.request, response, SESSION_COOKIE, created.cookie, int(app.settings.session_hours * 3600))
    response.delete_cookie(PRE_COOKIE, path="/")
    return response


@router.post("/sign-out")
async def sign_out(page: SignedInPost) -> Response:
    app = console(page.request)
    await handlers.sign_out(app.apis, page.user)
    cookie = page.request.cookies.get(SESSION_COOKIE, "")
    await store.drop_session(page.db, cookie)
    await page.db.commit()
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/home")
async def home(page: SignedIn) -> Response:
    if work.home_of(page.user.role) != "/home":  # issue 17: each role lands on its own home
        return RedirectResponse(work.home_of(page.user.role), status_code=303)
    tasks: list[dict[str, object]] = []
    if page.user.role in ("agent", "center_supervisor"):
        tasks = await handlers.gov_tasks(console(page.request).apis, page.token)
    return page.render("home.html", gov_tasks=tasks)


@router.post("/language")
async def language(page: Posted, locale: Annotated[str, Form()], back: Annotated[str, Form()] = "/") -> Response:
    target = back if back.startswith("/") and not back.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    if locale in LOCALES:
        if page.session is not None:
            page.session.locale = locale
            await page.db.commit()
        set_cookie(page.request, response, LANG_COOKIE, locale, 365 * 24 * 3600)
    return response


@router.post("/extension")
async def extension(page: SignedInPost, extension: Annotated[str, Form()] = "") -> Response:
    value = extension.strip()[:32] or None
    page.user.extension = value
    await page.db.commit()
    return RedirectResponse("/home", status_code=303)
