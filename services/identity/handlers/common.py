"""What every identity use case shares: its dependencies, the audit helper, token issuing, person rules."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.identity import store
from services.identity.keys import KeyRing
from services.identity.metrics import SignInMetrics
from services.identity.passwords import Passwords
from services.identity.schemas import TokenPair
from services.identity.settings import IdentitySettings
from shared.auth import AuthSettings, Principal, Role
from shared.clock import Clock
from shared.errors import Forbidden
from shared.http.ratelimit import RateLimiter, RateLimitSettings

# Roles a person may hold; `integration` belongs to machine keys only.
PERSON_ROLES: tuple[Role, ...] = tuple(r for r in Role if r is not Role.INTEGRATION)
REFRESH_PREFIX = "hr_"


class IdentityAction:
    """Audit actions of the identity service (beside shared.auth.AuditAction)."""

    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    LOCKED_OUT = "locked_out"
    SIGN_OUT = "sign_out"
    REFRESH_REUSED = "refresh_reused"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - an audit action name
    PASSWORD_RESET = "password_reset"  # noqa: S105 - an audit action name
    PERSON_CREATED = "person_created"
    PERSON_DISABLED = "person_disabled"
    PERSON_ENABLED = "person_enabled"
    ROLE_CHANGED = "role_changed"
    PEOPLE_IMPORTED = "people_imported"
    TOTP_ENABLED = "totp_enabled"
    TOTP_RESET = "totp_reset"
    KEY_CREATED = "api_key_created"
    KEY_ROTATED = "api_key_rotated"
    KEY_REVOKED = "api_key_revoked"
    SIGNING_KEY_ROTATED = "signing_key_rotated"
    SSO_SIGN_IN = "sso_sign_in"
    SSO_REFUSED = "sso_refused"
    BRANCH_SETTINGS = "branch_sign_in_changed"


def sign_in_limiter(per_minute: int) -> RateLimiter:
    """Sign-in attempts per key (a username, a client address): the shared token bucket, `per_minute` a minute.

    Each API process counts on its own: with N replicas an attacker gets N times the budget, which the
    account lockout (kept in the database) still bounds.
    """
    return RateLimiter(RateLimitSettings(defaults={"sign_in": f"{per_minute}/minute"}))


@dataclass
class Identity:
    """The dependencies of every handler (built once in bootstrap)."""

    settings: IdentitySettings
    auth: AuthSettings
    passwords: Passwords
    keys: KeyRing
    clock: Clock
    by_username: RateLimiter = field(default_factory=lambda: sign_in_limiter(10))
    by_address: RateLimiter = field(default_factory=lambda: sign_in_limiter(30))
    metrics: SignInMetrics | None = None

    def count(self, outcome: str, *, refresh: bool = False) -> None:
        if self.metrics is not None:
            (self.metrics.refreshes if refresh else self.metrics.sign_ins).labels(outcome).inc()


@dataclass(frozen=True)
class Actor:
    """Who did something, for the audit log: a principal, or a person signing in, or the CLI."""

    subject: str
    role: str
    branch: str
    address: str | None = None
    token_id: str | None = None

    @classmethod
    def of(cls, principal: Principal, address: str | None = None) -> Actor:
        return cls(principal.subject, principal.role.value, principal.branch, address, principal.token_id)


CLI_ACTOR_ROLE = "admin"


def cli_actor(branch: str) -> Actor:
    import getpass

    return Actor(f"cli:{getpass.getuser()}", CLI_ACTOR_ROLE, branch, "local")


async def audit(
    session: AsyncSession,
    actor: Actor,
    action: str,
    at: datetime,
    *,
    outcome: str = "ok",
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """One append-only audit record: who, what, when, from where (client_ip, masked when shown)."""
    record = store.AuditRecord()
    record.at = at
    record.service = store.SERVICE
    record.branch = actor.branch
    record.subject = actor.subject
    record.role = actor.role
    record.token_id = actor.token_id
    record.action = action
    record.outcome = outcome
    record.reason = reason
    record.detail = {**(detail or {}), **({"client_ip": actor.address} if actor.address else {})}
    session.add(record)
    await session.flush()


def hash_secret(value: str) -> str:
    """SHA-256 of a random token or key (high entropy: a fast hash is enough, and lookups need it)."""
    return hashlib.sha256(value.encode()).hexdigest()


def check_person_roles(roles: Sequence[str], unit: str | None, division: str | None) -> list[dict[str, str]]:
    """Field errors of a person's roles and scope (the scope claims a role's token will need)."""
    errors: list[dict[str, str]] = []
    names = {r.value for r in PERSON_ROLES}
    for role in roles:
        if role not in names:
            errors.append(
                {"field": "roles", "message": f"unknown role {role!r}; use one of {', '.join(sorted(names))}"}
            )
    if len(set(roles)) != len(roles):
        errors.append({"field": "roles", "message": "a role is listed twice"})
    if Role.UNIT_HANDLER.value in roles and not unit:
        errors.append({"field": "unit", "message": "a unit_handler needs a unit"})
    if Role.DIVISION_SUPERVISOR.value in roles and not division:
        errors.append({"field": "division", "message": "a division_supervisor needs a division"})
    return errors


def choose_role(person: store.Person, wanted: str | None) -> str:
    if wanted is None:
        return person.roles[0]
    if wanted not in person.roles:
        raise Forbidden(
            f"you do not hold the role {wanted!r}",
            code="role_not_held",
            fields=[{"field": "body.role", "message": f"one of: {', '.join(person.roles)}"}],
        )
    return wanted


async def access_token(ident: Identity, person: store.Person, role: str, now: datetime, session_id: str) -> str:
    ttl = ident.settings.access_ttl
    claims: dict[str, Any] = {
        "sub": person.username,
        "role": role,
        "roles": list(person.roles),
        "branch": person.branch,
        "iss": ident.auth.jwt_issuer,
        "aud": ident.auth.jwt_audience,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": uuid.uuid4().hex,
        # the sign-in this token belongs to (the console ends it with sign-out)
        "sid": session_id,
    }
    if person.unit:
        claims["unit"] = person.unit
    if person.division:
        claims["division"] = person.division
    return ident.keys.sign(claims, now)


async def issue_pair(
    session: AsyncSession,
    ident: Identity,
    person: store.Person,
    role: str,
    now: datetime,
    *,
    address: str | None,
    family: str | None = None,
) -> TokenPair:
    """A new access token and refresh token (stored by hash) of one sign-in family."""
    family = family or uuid.uuid4().hex
    refresh = REFRESH_PREFIX + secrets.token_urlsafe(32)
    ttl = ident.settings.refresh_ttl
    session.add(
        store.RefreshToken(
            token_hash=hash_secret(refresh),
            family=family,
            person_id=person.id,
            role=role,
            issued_at=now,
            expires_at=now + ttl,
            address=address,
        )
    )
    await session.flush()
    return TokenPair(
        access_token=await access_token(ident, person, role, now, family),
        refresh_token=refresh,
        expires_in=int(ident.settings.access_ttl.total_seconds()),
        refresh_expires_in=int(ttl.total_seconds()),
        role=role,
        roles=list(person.roles),
    )


def retry_after(until: datetime, now: datetime) -> int:
    """Whole seconds until `until` (at least 1): when a locked account may try again."""
    return max(1, int((until - now) / timedelta(seconds=1)) + 1)


def ensure_admin_of(principal: Principal, person_branch: str, group_admin: bool) -> None:
    """An admin acts on their own branch only, unless a group admin (checked by the caller's flag)."""
    if principal.branch != person_branch and not group_admin:
        raise Forbidden(f"branch {person_branch!r} is outside your scope", code="out_of_scope")
