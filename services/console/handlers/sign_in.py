"""Signing a person in and out through identity, and keeping the session's token fresh."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from services.console.clients import ApiFailure, Apis
from services.console.store import BrowserSession, NewSession, new_session

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
    return session_of(answer, username, now, session_length, locale)


def session_of(
    answer: dict[str, Any], username: str | None, now: datetime, session_length: timedelta, locale: str | None
) -> NewSession:
    """The browser session of identity's token pair (a password or a single sign-on)."""
    claims = read_claims(answer["access_token"], now, answer.get("expires_in"))
    return new_session(
        username=username or claims.subject,
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
