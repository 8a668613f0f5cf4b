"""Single sign-on: the sign-in page's button, and the browser's return from the branch's provider."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from services.console.api.deps import LANG_COOKIE, PRE_COOKIE, SESSION_COOKIE, AnyPage, console, set_cookie
from services.console.clients import ApiFailure
from services.console.handlers.sso import sso_finish, sso_start
from services.console.i18n import LOCALES

router = APIRouter()

# the sign-on's state, bound to the browser that started it (a link with someone else's code signs nobody in)
SSO_COOKIE = "hotline_console_sso"


def branch_of(page: AnyPage) -> str:
    branch = console(page.request).service.branch
    return "demo" if branch == "default" else str(branch)


def _refused(page: AnyPage, status: int, message: str) -> Response:
    response = page.render("sign_in.html", status=status, errors={"form": message}, sso=True)
    response.delete_cookie(SSO_COOKIE, path="/")
    return response


@router.get("/sso/start")
async def start(page: AnyPage) -> Response:
    """To the branch's provider, through identity (which keeps the PKCE verifier and the nonce)."""
    try:
        url, state = await sso_start(console(page.request).apis, branch_of(page))
    except ApiFailure as failure:
        message = page.language.gettext("Single sign-on is not available right now")
        return _refused(page, 503 if failure.status >= 500 else failure.status, message)
    response = RedirectResponse(url, status_code=303)
    set_cookie(page.request, response, SSO_COOKIE, state, 600)
    return response


@router.get("/api/v1/auth/oidc/callback")
async def finish(page: AnyPage, code: str = "", state: str = "", error: str = "") -> Response:
    """The provider sends the browser back here; identity turns the code into the person's tokens."""
    started = page.request.cookies.get(SSO_COOKIE, "")
    if error or not code or not state or not started or not secrets.compare_digest(started, state):
        return _refused(page, 400, page.language.gettext("This sign-on was not started here; start again"))
    app = console(page.request)
    now = datetime.now(UTC)
    chosen = page.request.cookies.get(LANG_COOKIE)
    try:
        created = await sso_finish(
            app.apis,
            code,
            state,
            now,
            timedelta(hours=app.settings.session_hours),
            chosen if chosen in LOCALES else None,
        )
    except ApiFailure as failure:
        if failure.code == "sso_no_role":
            return _refused(page, 403, page.language.gettext("Your account has no role in the hotline"))
        return _refused(page, 400, page.language.gettext("Single sign-on failed; start again"))
    page.db.add(created.row)
    await page.db.commit()
    response = RedirectResponse("/home", status_code=303)
    set_cookie(page.request, response, SESSION_COOKIE, created.cookie, int(app.settings.session_hours * 3600))
    response.delete_cookie(PRE_COOKIE, path="/")
    response.delete_cookie(SSO_COOKIE, path="/")
    return response
