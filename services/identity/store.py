"""The identity service's tables (people, refresh tokens, signing keys, API keys, SSO, audit) and queries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.auth import AuditLog, AuditRecordMixin
from shared.db import AwareDateTime, service_metadata

SERVICE = "identity"


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    metadata = service_metadata()


class AuditRecord(AuditRecordMixin, Base):
    __tablename__ = "audit_log"


AUDIT = AuditLog(AuditRecord, service=SERVICE)


class Person(Base):
    """Someone who signs in: one branch, one or more roles (the first is the default), a unit or division."""

    __tablename__ = "people"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    branch: Mapped[str] = mapped_column(String(40), index=True)
    # unique across branches: sign-in asks for a username only
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str | None] = mapped_column(String(32))
    roles: Mapped[list[str]] = mapped_column(JSON)
    unit: Mapped[str | None] = mapped_column(String(64))
    division: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # an admin of every branch (the group's); a branch admin acts on their own branch only
    group_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # None: signs in only through the branch's single sign-on
    password_hash: Mapped[str | None] = mapped_column(String(200))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    password_changed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(AwareDateTime())
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    # "issuer|subject" of the IdP account this person signs in with
    sso_subject: Mapped[str | None] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime())


class RefreshToken(Base):
    """One refresh token, by its SHA-256 only; `family` ties the rotations of one sign-in together."""

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family: Mapped[str] = mapped_column(String(32), index=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    issued_at: Mapped[datetime] = mapped_column(AwareDateTime())
    expires_at: Mapped[datetime] = mapped_column(AwareDateTime(), index=True)
    used_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(64))


class SigningKey(Base):
    """An Ed25519 key: published from `created_at`, signs from `activates_at`, published until `expires_at`."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    private_pem: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())
    activates_at: Mapped[datetime] = mapped_column(AwareDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(AwareDateTime())


class ApiKey(Base):
    """A machine client's key, by its SHA-256 only, with the scopes it may use."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    branch: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(80))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # the first characters of the key, so ops can tell keys apart without the secret
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())
    created_by: Mapped[str] = mapped_column(String(120))
    revoked_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    replaced_by: Mapped[str | None] = mapped_column(String(32))


class BranchSignIn(Base):
    """A branch's sign-in settings: second factor per role, and its OpenID Connect provider."""

    __tablename__ = "branch_sign_in"

    branch: Mapped[str] = mapped_column(String(40), primary_key=True)
    totp_required_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    oidc_issuer: Mapped[str | None] = mapped_column(String(300))
    oidc_client_id: Mapped[str | None] = mapped_column(String(200))
    oidc_client_secret: Mapped[str | None] = mapped_column(String(300))
    # ClaimMapping as JSON: {"roles": {group: role}, "units": {group: unit}, "divisions": {...}, "groups_claim"}
    oidc_mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OidcState(Base):
    """One sign-in in flight at the IdP: the state, nonce and PKCE verifier it must come back with."""

    __tablename__ = "oidc_states"

    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    branch: Mapped[str] = mapped_column(String(40))
    nonce: Mapped[str] = mapped_column(String(64))
    code_verifier: Mapped[str] = mapped_column(String(128))
    redirect_uri: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())


# --------------------------------------------------------------------------- queries


async def person_by_username(session: AsyncSession, username: str) -> Person | None:
    return (await session.scalars(select(Person).where(Person.username == username))).one_or_none()


async def person_by_id(session: AsyncSession, person_id: str) -> Person | None:
    return await session.get(Person, person_id)


async def person_by_sso(session: AsyncSession, sso_subject: str) -> Person | None:
    return (await session.scalars(select(Person).where(Person.sso_subject == sso_subject))).one_or_none()


async def people_of(session: AsyncSession, branch: str, *, include_disabled: bool = True) -> Sequence[Person]:
    stmt = select(Person).where(Person.branch == branch)
    if not include_disabled:
        stmt = stmt.where(Person.active.is_(True))
    return (await session.scalars(stmt.order_by(Person.username))).all()


async def existing_usernames(session: AsyncSession, usernames: Sequence[str]) -> set[str]:
    if not usernames:
        return set()
    rows = await session.scalars(select(Person.username).where(Person.username.in_(list(usernames))))
    return set(rows.all())


async def refresh_token_by_hash(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    stmt = select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
    return (await session.scalars(stmt)).one_or_none()


async def revoke_family(session: AsyncSession, family: str, now: datetime, reason: str) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )


async def revoke_person_tokens(session: AsyncSession, person_id: str, now: datetime, reason: str) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.person_id == person_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )


async def purge_refresh_tokens(session: AsyncSession, before: datetime) -> int:
    from sqlalchemy import delete

    result = await session.execute(delete(RefreshToken).where(RefreshToken.expires_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


async def published_keys(session: AsyncSession, now: datetime) -> Sequence[SigningKey]:
    stmt = select(SigningKey).where((SigningKey.expires_at.is_(None)) | (SigningKey.expires_at > now))
    return (await session.scalars(stmt.order_by(SigningKey.activates_at))).all()


async def expired_keys(session: AsyncSession, now: datetime) -> Sequence[SigningKey]:
    stmt = select(SigningKey).where(SigningKey.expires_at.is_not(None), SigningKey.expires_at <= now)
    return (await session.scalars(stmt)).all()


async def api_keys_of(session: AsyncSession, branch: str) -> Sequence[ApiKey]:
    stmt = select(ApiKey).where(ApiKey.branch == branch).order_by(ApiKey.created_at)
    return (await session.scalars(stmt)).all()


async def api_key_by_hash(session: AsyncSession, key_hash: str) -> ApiKey | None:
    return (await session.scalars(select(ApiKey).where(ApiKey.key_hash == key_hash))).one_or_none()


async def api_key_by_id(session: AsyncSession, key_id: str) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


async def branch_sign_in(session: AsyncSession, branch: str) -> BranchSignIn | None:
    return await session.get(BranchSignIn, branch)


async def take_oidc_state(session: AsyncSession, state: str) -> OidcState | None:
    """The flight of `state`, removed so that a replayed callback finds nothing."""
    found = await session.get(OidcState, state)
    if found is not None:
        await session.delete(found)
        await session.flush()
    return found
