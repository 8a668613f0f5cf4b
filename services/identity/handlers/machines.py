"""Machine clients' API keys (created, rotated, revoked; hashed; scoped) and branch sign-in settings."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.identity import store
from services.identity.handlers.common import PERSON_ROLES, Actor, Identity, IdentityAction, audit, hash_secret
from services.identity.schemas import AccessToken, ApiKeyCreate, ApiKeyIssued, ApiKeyPublic, BranchSignInIn
from shared.auth import Role
from shared.auth.tokens import API_KEY_PREFIX
from shared.errors import Conflict, Invalid, Unauthenticated
from shared.policy.sign_in import ClaimMapping


def public(key: store.ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic(
        id=key.id,
        branch=key.branch,
        client=key.name,
        prefix=key.prefix,
        scopes=list(key.scopes),
        created_at=key.created_at,
        created_by=key.created_by,
        revoked_at=key.revoked_at,
        replaced_by=key.replaced_by,
    )


def _issue(key: store.ApiKey, secret: str) -> ApiKeyIssued:
    return ApiKeyIssued(**public(key).model_dump(), key=secret)


def _new_key(ident: Identity, branch: str, name: str, scopes: list[str], actor: Actor) -> tuple[store.ApiKey, str]:
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = store.ApiKey(
        id=uuid.uuid4().hex,
        branch=branch,
        name=name,
        key_hash=hash_secret(secret),
        prefix=secret[:10],
        scopes=sorted(set(scopes)),
        created_at=ident.clock.now(),
        created_by=actor.subject,
    )
    return key, secret


async def create_key(session: AsyncSession, ident: Identity, actor: Actor, body: ApiKeyCreate) -> ApiKeyIssued:
    key, secret = _new_key(ident, body.branch, body.client, body.scopes, actor)
    session.add(key)
    await session.flush()
    detail = {"key_id": key.id, "client": key.name, "scopes": key.scopes}
    await audit(session, actor, IdentityAction.KEY_CREATED, ident.clock.now(), detail=detail)
    return _issue(key, secret)


async def rotate_key(session: AsyncSession, ident: Identity, actor: Actor, old: store.ApiKey) -> ApiKeyIssued:
    """A new key with the same name and scopes; the old one is revoked at once (hand over the new one first)."""
    if old.revoked_at is not None:
        raise Conflict("this key is revoked; create a new one", code="key_revoked")
    key, secret = _new_key(ident, old.branch, old.name, list(old.scopes), actor)
    now = ident.clock.now()
    old.revoked_at = now
    old.replaced_by = key.id
    session.add(key)
    await session.flush()
    await audit(session, actor, IdentityAction.KEY_ROTATED, now, detail={"key_id": old.id, "new_key_id": key.id})
    return _issue(key, secret)


async def revoke_key(session: AsyncSession, ident: Identity, actor: Actor, key: store.ApiKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = ident.clock.now()
        await audit(session, actor, IdentityAction.KEY_REVOKED, key.revoked_at, detail={"key_id": key.id})


async def client_token(session: AsyncSession, ident: Identity, api_key: str, address: str | None) -> AccessToken:
    """Client credentials: a live key gives an `integration` token (≤ 15 min) with the key's scopes."""
    await ident.keys.prepare(ident.clock.now())
    key = await store.api_key_by_hash(session, hash_secret(api_key))
    if key is None or key.revoked_at is not None:
        raise Unauthenticated("API key is not recognised", code="unauthenticated")
    now = ident.clock.now()
    ttl = ident.settings.access_ttl
    claims: dict[str, Any] = {
        "sub": key.name,
        "role": Role.INTEGRATION.value,
        "branch": key.branch,
        "scopes": list(key.scopes),
        "iss": ident.auth.jwt_issuer,
        "aud": ident.auth.jwt_audience,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": uuid.uuid4().hex,
        "key_id": key.id,
    }
    token = ident.keys.sign(claims, now)
    return AccessToken(access_token=token, expires_in=int(ttl.total_seconds()), scopes=list(key.scopes))


async def set_branch_sign_in(
    session: AsyncSession, ident: Identity, actor: Actor, branch: str, body: BranchSignInIn
) -> None:
    names = {r.value for r in PERSON_ROLES}
    fields = [
        {"field": "body.totp_required_roles", "message": f"unknown role {r!r}"}
        for r in body.totp_required_roles
        if r not in names
    ]
    mapping = dict(body.oidc_mapping)
    try:
        parsed = ClaimMapping(
            roles=dict(mapping.get("roles", {})),  # type: ignore[call-overload]
            units=dict(mapping.get("units", {})),  # type: ignore[call-overload]
            divisions=dict(mapping.get("divisions", {})),  # type: ignore[call-overload]
            groups_claim=str(mapping.get("groups_claim", "groups")),
        )
    except (TypeError, ValueError):
        fields.append({"field": "body.oidc_mapping", "message": "roles, units and divisions map group to code"})
    else:
        fields += [
            {"field": "body.oidc_mapping.roles", "message": f"unknown role {r!r}"}
            for r in parsed.roles.values()
            if r not in names
        ]
    if fields:
        raise Invalid("branch sign-in settings are not valid", fields=fields)
    row = await store.branch_sign_in(session, branch)
    if row is None:
        row = store.BranchSignIn(branch=branch)
        session.add(row)
    row.totp_required_roles = list(body.totp_required_roles)
    row.oidc_issuer = body.oidc_issuer
    row.oidc_client_id = body.oidc_client_id
    row.oidc_client_secret = body.oidc_client_secret
    row.oidc_mapping = mapping
    await session.flush()
    detail = {"totp_required_roles": row.totp_required_roles, "oidc_issuer": row.oidc_issuer}
    await audit(session, actor, IdentityAction.BRANCH_SETTINGS, ident.clock.now(), detail=detail)
