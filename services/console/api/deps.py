"""What every console route needs: the browser session (cookie), CSRF check, language, and page rendering."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.console import handlers, store
from services.console.i18n import Language, choose_locale
from services.console.store import BrowserSession

SESSION_COOKIE = "hotline_console"
# before sign-in: the double-submit token of the sign-in form (login CSRF)
PRE_COOKIE = "hotline_console_pre"
LANG_COOKIE = "hotline_console_lang"


class SignInRequired(Exception):
    """No valid browser session: send the browser to the sign-in page."""


class CsrfRejected(Exception):
    """A form post without the session's CSRF token."""


def console(request: Request) -> Any:
    return request.app.state.console


def secure(request: Request) -> bool:
    configured = console(request).settings.cookie_secure
    if configured is not None:
        return bool(configured)
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded == "https"


def set_cookie(request: Request, response: Any, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax", secure=secure(request), path="/")


@dataclass
class Page:
    """One request's browser session (None before sign-in) and language."""

    request: Request
    db: AsyncSession
    session: BrowserSession | None
    language: Language
    pre_token: str | None = None  # the sign-in form's token when there is no session yet

    @property
    def user(self) -> BrowserSession:
        if self.session is None:
            raise SignInRequired
        return self.session

    @property
    def token(self) -> str:
        return self.user.access_token

    @property
    def csrf(self) -> str:
        return self.session.csrf_token if self.session is not None else (self.pre_token or "")

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        app = console(self.request)
        html = app.templates.get_template(template).render(
            _=self.language.gettext,
            lang=self.language,
            user=self.session,
            csrf=self.csrf,
            now=app.clock.now(),
            clock_speed=app.service.clock_speed,
            path=self.request.url.path,
            **context,
        )
        response = HTMLResponse(html, status_code=status)
        if self.session is None and self.pre_token and self.request.cookies.get(PRE_COOKIE) != self.pre_token:
            set_cookie(self.request, response, PRE_COOKIE, self.pre_token)
        return response


async def db_session(request: Request) -> Any:
    async with console(request).sessions() as db:
        yield db


def language_for(request: Request, session: BrowserSession | None) -> Language:
    app = console(request)
    chosen = session.locale if session is not None else request.cookies.get(LANG_COOKIE)
    code = choose_locale(chosen, request.headers.get("accept-language"), app.settings.default_locale)
    return Language(code, app.catalogs.get(code, app.catalogs["en"]), app.zone)


async def _page(request: Request, db: Annotated[AsyncSession, Depends(db_session)]) -> Page:
    app = console(request)
    # sessions and tokens expire on the wall clock, never on a demo's faster policy clock
    now = datetime.now(UTC)
    session = None
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        session = await store.session_by_cookie(db, cookie, now)
        if session is not None and not await handlers.fresh_token(app.apis, session, now):
            await db.delete(session)
            session = None
        await db.commit()
    pre = None if session is not None else (request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24))
    return Page(request, db, session, language_for(request, session), pre)


AnyPage = Annotated[Page, Depends(_page)]


async def _signed_in(page: AnyPage) -> Page:
    if page.session is None:
        raise SignInRequired
    return page


SignedIn = Annotated[Page, Depends(_signed_in)]


async def _checked(page: AnyPage) -> Page:
    """Synchronizer token: the session's CSRF token in the form (or X-CSRF-Token from htmx)."""
    request = page.request
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    expected = page.session.csrf_token if page.session is not None else request.cookies.get(PRE_COOKIE)
    if not expected or not sent or not secrets.compare_digest(sent, expected):
        raise CsrfRejected
    return page


Posted = Annotated[Page, Depends(_checked)]


async def _posted_signed_in(page: Posted) -> Page:
    if page.session is None:
        raise SignInRequired
    return page


SignedInPost = Annotated[Page, Depends(_posted_signed_in)]
