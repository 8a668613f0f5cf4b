"""Sign-in use cases: password sign-in, refresh with rotation, sign-out, password change, TOTP, client tokens."""

from __future__ import annotations

import math
from datetime import datetime, tzinfo

import pyotp
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity import store
from services.identity.handlers.common import (
    Actor,
    Identity,
    IdentityAction,
    audit,
    choose_role,
    hash_secret,
    issue_pair,
    retry_after,
)
from services.identity.schemas import (
    LoginIn,
    PasswordChangeIn,
    RefreshIn,
    TokenPair,
    TotpConfirmIn,
    TotpEnrolIn,
    TotpEnrolment,
)
from shared.errors import Conflict, DomainError, Forbidden, Invalid, Locked, TooManyRequests, Unauthenticated
from shared.policy.sign_in import after_failure, is_locked, password_problems

log = structlog.get_logger(__name__)

# One answer for an unknown user and a wrong password (issue 15: same answer, same time).
BAD_CREDENTIALS = "username or password is wrong"


def _unauthorised(message: str = BAD_CREDENTIALS, code: str = "bad_credentials") -> DomainError:
    return Unauthenticated(message, code=code)


def _rate_limit(ident: Identity, username: str, address: str | None) -> None:
    waits = [ident.by_username.hit("sign_in", username.casefold())]
    if address:
        waits.append(ident.by_address.hit("sign_in", address))
    wait = max((math.ceil(w) for w in waits if w is not None), default=None)
    if wait is not None:
        ident.count("rate_limited")
        raise TooManyRequests(
            "too many sign-in attempts; wait and try again",
            code="rate_limited",
            retry_after=wait,
        )


async def _locked(
    session: AsyncSession, ident: Identity, person: store.Person, actor: Actor, now: datetime, *, record: bool = True
) -> DomainError:
    assert person.locked_until is not None
    if record:  # the attempt that locks the account was recorded as a failure and a lockout already
        await audit(session, actor, IdentityAction.SIGN_IN_FAILED, now, outcome="locked")
    await session.commit()
    zone = _zone(person.branch)
    until = person.locked_until.astimezone(zone).isoformat(timespec="seconds")
    return Locked(
        f"this account is locked after repeated failures until {until}",
        code="account_locked",
        retry_after=retry_after(person.locked_until, now),
    )


def _zone(branch: str) -> tzinfo:
    from shared.branch_config import load_branch
    from shared.policy.branch import BranchConfigError

    try:
        return load_branch(branch).timezone
    except BranchConfigError:
        from zoneinfo import ZoneInfo

        return ZoneInfo("Asia/Shanghai")


async def check_password(
    session: AsyncSession,
    ident: Identity,
    username: str,
    password: str,
    totp: str | None,
    *,
    address: str | None,
) -> store.Person:
    """The person whose password (and second factor) this is; 401/423/429 otherwise, failures counted."""
    _rate_limit(ident, username, address)
    now = ident.clock.now()
    await ident.keys.prepare(now)
    person = await store.person_by_username(session, username)
    # the hash is verified whatever happens next, so every refusal costs the same time
    ok = await ident.passwords.verify_or_dummy(person.password_hash if person else None, password)
    if person is None:
        ident.count("unknown_user")
        await audit(session, Actor(username, "-", "-", address), IdentityAction.SIGN_IN_FAILED, now, outcome="unknown")
        await session.commit()
        raise _unauthorised()
    actor = Actor(person.username, person.roles[0], person.branch, address)
    if is_locked(person.locked_until, now):
        # no verdict on the password while locked: a locked account is no guessing oracle
        ident.count("locked")
        raise await _locked(session, ident, person, actor, now)
    if ok and (person.totp_enabled or await _totp_required(session, person)):
        ok = _totp_ok(person, totp, now)
        if not ok and totp is None:
            if not person.totp_enabled:
                raise Forbidden("your branch requires a second factor: enrol one first", code="totp_enrolment_required")
            raise _unauthorised("a one-time code from your authenticator is required", "totp_required")
    if not ok:
        ident.count("bad_password")
        outcome = after_failure(ident.settings.lockout_policy(), person.failed_sign_ins, now)
        person.failed_sign_ins = outcome.failures
        person.locked_until = outcome.locked_until
        await audit(session, actor, IdentityAction.SIGN_IN_FAILED, now, outcome="bad_password")
        if outcome.locked_until is not None:
            await audit(session, actor, IdentityAction.LOCKED_OUT, now, detail={"failures": outcome.failures})
            raise await _locked(session, ident, person, actor, now, record=False)
        await session.commit()
        raise _unauthorised()
    if not person.active:
        ident.count("disabled")
        await audit(session, actor, IdentityAction.SIGN_IN_FAILED, now, outcome="disabled")
        await session.commit()
        raise Forbidden("this account is disabled", code="account_disabled")
    person.failed_sign_ins = 0
    person.locked_until = None
    if person.password_hash and ident.passwords.needs_rehash(person.password_hash):
        person.password_hash = await ident.passwords.hash(password)
    return person


async def _totp_required(session: AsyncSession, person: store.Person) -> bool:
    branch = await store.branch_sign_in(session, person.branch)
    return branch is not None and bool(set(branch.totp_required_roles) & set(person.roles))


def _totp_ok(person: store.Person, code: str | None, now: datetime) -> bool:
    if not person.totp_enabled or not person.totp_secret or code is None:
        return False
    totp = pyotp.TOTP(person.totp_secret)
    step = int(now.timestamp()) // totp.interval
    for candidate in (step - 1, step, step + 1):
        # each code once: a code seen on the wire cannot be replayed within its window
        if totp.at(candidate * totp.interval) == code and (person.totp_last_step or 0) < candidate:
            person.totp_last_step = candidate
            return True
    return False


async def login(session: AsyncSession, ident: Identity, body: LoginIn, address: str | None) -> TokenPair:
    person = await check_password(session, ident, body.username, body.password, body.totp, address=address)
    if person.must_change_password:
        await session.commit()
        raise Forbidden("your password was reset: choose a new one before signing in", code="password_change_required")
    role = choose_role(person, body.role)
    now = ident.clock.now()
    pair = await issue_pair(session, ident, person, role, now, address=address)
    await audit(session, Actor(person.username, role, person.branch, address), IdentityAction.SIGN_IN, now)
    await session.commit()
    ident.count("ok")
    log.info("signed in", subject=person.username, role=role)
    return pair


async def refresh(session: AsyncSession, ident: Identity, body: RefreshIn, address: str | None) -> TokenPair:
    """Rotate: the token is spent, a new pair comes back; a spent token used again ends the whole sign-in."""
    now = ident.clock.now()
    await ident.keys.prepare(now)
    row = await store.refresh_token_by_hash(session, hash_secret(body.refresh_token))
    if row is None:
        ident.count("invalid", refresh=True)
        raise _unauthorised("refresh token is not recognised", "refresh_invalid")
    person = await store.person_by_id(session, row.person_id)
    assert person is not None
    actor = Actor(person.username, row.role, person.branch, address)
    if row.revoked_at is not None:
        ident.count("revoked", refresh=True)
        raise _unauthorised(f"refresh token was revoked ({row.revoked_reason})", "refresh_revoked")
    if row.used_at is not None:
        # replay of a rotated token: whoever holds the newer one may be a thief; end the sign-in
        await store.revoke_family(session, row.family, now, "reused")
        ident.count("reused", refresh=True)
        await audit(session, actor, IdentityAction.REFRESH_REUSED, now, outcome="revoked")
        await session.commit()
        raise _unauthorised("refresh token was already used; signed out", "refresh_reused")
    if row.expires_at <= now:
        ident.count("expired", refresh=True)
        raise _unauthorised("refresh token expired", "refresh_expired")
    if not person.active:
        await store.revoke_family(session, row.family, now, "disabled")
        await session.commit()
        raise _unauthorised("this account is disabled", "account_disabled")
    role = choose_role(person, body.role or (row.role if row.role in person.roles else None))
    row.used_at = now
    pair = await issue_pair(session, ident, person, role, now, address=address, family=row.family)
    if role != row.role:
        await audit(session, actor, IdentityAction.ROLE_CHANGED, now, detail={"from": row.role, "to": role})
    await session.commit()
    ident.count("ok", refresh=True)
    return pair


async def logout(session: AsyncSession, ident: Identity, refresh_token: str, address: str | None) -> None:
    """Revoke the sign-in the refresh token belongs to (idempotent: an unknown token is no error)."""
    now = ident.clock.now()
    row = await store.refresh_token_by_hash(session, hash_secret(refresh_token))
    if row is None:
        return
    person = await store.person_by_id(session, row.person_id)
    await store.revoke_family(session, row.family, now, "signed_out")
    if person is not None:
        await audit(session, Actor(person.username, row.role, person.branch, address), IdentityAction.SIGN_OUT, now)
    await session.commit()


async def change_password(
    session: AsyncSession, ident: Identity, body: PasswordChangeIn, address: str | None
) -> TokenPair:
    """A new password for the person who knows the current one; every other sign-in of theirs ends."""
    person = await check_password(session, ident, body.username, body.current_password, body.totp, address=address)
    problems = password_problems(ident.settings.password_policy(), body.new_password, username=person.username)
    if body.new_password == body.current_password:
        problems.append("must differ from the current password")
    if problems:
        await session.commit()
        raise Invalid(
            "the new password is not accepted",
            fields=[{"field": "body.new_password", "message": p} for p in problems],
        )
    now = ident.clock.now()
    person.password_hash = await ident.passwords.hash(body.new_password)
    person.must_change_password = False
    person.password_changed_at = now
    person.updated_at = now
    await store.revoke_person_tokens(session, person.id, now, "password_changed")
    role = person.roles[0]
    await audit(session, Actor(person.username, role, person.branch, address), IdentityAction.PASSWORD_CHANGED, now)
    pair = await issue_pair(session, ident, person, role, now, address=address)
    await session.commit()
    return pair


async def enrol_totp(session: AsyncSession, ident: Identity, body: TotpEnrolIn, address: str | None) -> TotpEnrolment:
    """A new (not yet active) authenticator secret for the person who knows their password."""
    person = await _person_for_enrolment(session, ident, body.username, body.password, address)
    if person.totp_enabled:
        await session.commit()
        raise Conflict("a second factor is already enrolled; an admin can reset it", code="totp_enrolled")
    person.totp_secret = pyotp.random_base32()
    await session.commit()
    uri = pyotp.TOTP(person.totp_secret).provisioning_uri(name=person.username, issuer_name=ident.settings.totp_issuer)
    return TotpEnrolment(secret=person.totp_secret, otpauth_uri=uri)


async def confirm_totp(session: AsyncSession, ident: Identity, body: TotpConfirmIn, address: str | None) -> None:
    person = await _person_for_enrolment(session, ident, body.username, body.password, address)
    now = ident.clock.now()
    if person.totp_secret is None or person.totp_enabled:
        await session.commit()
        raise Conflict("no second factor is waiting for confirmation", code="totp_not_pending")
    person.totp_enabled = True
    if not _totp_ok(person, body.totp, now):
        await session.rollback()
        raise Invalid("the code does not match", fields=[{"field": "body.totp", "message": "wrong code"}])
    await audit(
        session, Actor(person.username, person.roles[0], person.branch, address), IdentityAction.TOTP_ENABLED, now
    )
    await session.commit()


async def _person_for_enrolment(
    session: AsyncSession, ident: Identity, username: str, password: str, address: str | None
) -> store.Person:
    # the password alone proves who enrols (before any second factor exists)
    _rate_limit(ident, username, address)
    person = await store.person_by_username(session, username)
    ok = await ident.passwords.verify_or_dummy(person.password_hash if person else None, password)
    if person is None or not ok or not person.active or is_locked(person.locked_until, ident.clock.now()):
        raise _unauthorised()
    return person
