"""Signed JWT bearer tokens and hashed API keys: issue, verify, turn into a Principal."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

import jwt

from shared.auth.jwks import TokenKeyError, verification_key
from shared.auth.principal import Principal
from shared.auth.roles import Role
from shared.auth.settings import AuthSettings
from shared.http.errors import ApiError

_TTL = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
API_KEY_PREFIX = "hk_"


class AuthenticationError(ApiError):
    """401 with a message that says what is wrong with the credentials, not how to forge them."""

    def __init__(self, message: str) -> None:
        super().__init__(401, message, code="unauthenticated", headers={"WWW-Authenticate": "Bearer"})


def parse_ttl(text: str) -> timedelta:
    """`90s`, `30m`, `8h`, `2d` → a timedelta; anything else is a ValueError."""
    match = _TTL.match(text)
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"invalid ttl {text!r}: use a positive number with s, m, h or d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def check_claims(role: Role, unit: str | None, division: str | None) -> None:
    """The scope claims a role needs; a token without them would see a whole branch."""
    if role is Role.UNIT_HANDLER and not unit:
        raise ValueError("a unit_handler token needs a unit")
    if role is Role.DIVISION_SUPERVISOR and not division:
        raise ValueError("a division_supervisor token needs a division")


def issue_token(
    settings: AuthSettings,
    *,
    subject: str,
    role: Role,
    branch: str,
    now: datetime,
    ttl: timedelta,
    unit: str | None = None,
    division: str | None = None,
) -> str:
    """A signed token for one principal; `now` is passed in so tests can issue expired ones."""
    if not subject or not branch:
        raise ValueError("subject and branch must not be empty")
    if ttl > settings.max_ttl:
        raise ValueError(f"ttl {ttl} is longer than the configured maximum {settings.max_ttl}")
    check_claims(role, unit, division)
    if settings.jwt_secret is None:
        raise ValueError("no signing key configured (HOTLINE_JWT_SECRET)")
    claims: dict[str, Any] = {
        "sub": subject,
        "role": role.value,
        "branch": branch,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        # the token id lets the audit log tell two sessions of one subject apart
        "jti": uuid.uuid4().hex,
    }
    if unit:
        claims["unit"] = unit
    if division:
        claims["division"] = division
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), settings.jwt_algorithm)


def decode_token(settings: AuthSettings, token: str) -> Principal:
    """Verify signature, expiry, issuer and audience; 401 with a clear message otherwise."""
    try:
        key, algorithms = verification_key(settings, token)
    except TokenKeyError as exc:
        raise AuthenticationError(str(exc)) from exc
    try:
        claims = jwt.decode(
            token,
            key,
            # one algorithm only: never let the token header choose (alg=none, HS/RS confusion)
            algorithms=algorithms,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=settings.jwt_leeway_seconds,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise AuthenticationError("token expired") from exc
    except jwt.InvalidSignatureError as exc:
        raise AuthenticationError("token signature is invalid") from exc
    except jwt.InvalidAudienceError as exc:
        raise AuthenticationError("token is for another audience") from exc
    except jwt.InvalidIssuerError as exc:
        raise AuthenticationError("token is from an unknown issuer") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise AuthenticationError(f"token lacks the {exc.claim!r} claim") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise AuthenticationError("token is signed with an unaccepted algorithm") from exc
    except jwt.InvalidTokenError as exc:
        raise AuthenticationError("token is malformed") from exc
    # imported here: verification.py imports the audit log, which imports this module's users
    from shared.auth.verification import ClaimsError, principal_from_claims

    try:
        return principal_from_claims(
            claims, max_lifetime=settings.max_ttl, leeway=timedelta(seconds=settings.jwt_leeway_seconds)
        )
    except ClaimsError as exc:
        raise AuthenticationError(str(exc)) from exc


def hash_api_key(key: str) -> str:
    """The SHA-256 hex digest configured for a key (keys are random, so no slow hash needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def principal_for_api_key(settings: AuthSettings, key: str) -> Principal:
    """An `integration` principal for a configured key; 401 for any other key."""
    digest = hash_api_key(key)
    for entry in settings.api_keys:
        # constant-time: a timing side channel must not reveal how much of a hash matched
        if hmac.compare_digest(entry.sha256, digest):
            return Principal(subject=entry.name, role=Role.INTEGRATION, branch=entry.branch, via="api_key")
    raise AuthenticationError("API key is not recognised")
