"""Enterprise single sign-on: OpenID Connect authorization code + PKCE (authlib's RFC 6749/7636), groups to roles.

The branch's provider is discovered from its issuer; the ID token is verified against the provider's
JWKS (issuer, audience, expiry, nonce). The person is found by `issuer|sub`, created on first sign-in
(username = the IdP's preferred_username), and their roles, unit and division follow the IdP's groups
at every sign-in (a change is audited); no mapped role means no access.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity import store
from services.identity.handlers.common import Actor, Identity, IdentityAction, audit, check_person_roles, issue_pair
from services.identity.schemas import TokenPair
from shared.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthenticated, Unavailable
from shared.policy.sign_in import ClaimMapping, map_claims

CALLBACK_PATH = "/api/v1/auth/oidc/callback"
STATE_LIFETIME_SECONDS = 600


@dataclass(frozen=True)
class Provider:
    issuer: str
    client_id: str
    client_secret: str | None
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    mapping: ClaimMapping


async def _provider(session: AsyncSession, branch: str) -> Provider:
    row = await store.branch_sign_in(session, branch)
    if row is None or not row.oidc_issuer or not row.oidc_client_id:
        raise NotFound(f"branch {branch!r} has no single sign-on", code="sso_not_configured")
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.get(f"{row.oidc_issuer.rstrip('/')}/.well-known/openid-configuration")
            response.raise_for_status()
            meta = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise Unavailable("the branch's sign-on provider does not answer", code="sso_unavailable") from exc
    if meta.get("issuer") != row.oidc_issuer:
        raise Unavailable("the sign-on provider names another issuer", code="sso_misconfigured")
    mapping = dict(row.oidc_mapping or {})
    return Provider(
        issuer=row.oidc_issuer,
        client_id=row.oidc_client_id,
        client_secret=row.oidc_client_secret,
        authorization_endpoint=meta["authorization_endpoint"],
        token_endpoint=meta["token_endpoint"],
        jwks_uri=meta["jwks_uri"],
        mapping=ClaimMapping(
            roles=dict(mapping.get("roles", {})),
            units=dict(mapping.get("units", {})),
            divisions=dict(mapping.get("divisions", {})),
            groups_claim=str(mapping.get("groups_claim", "groups")),
        ),
    )


def _redirect_uri(ident: Identity) -> str:
    return ident.settings.oidc_redirect_base.rstrip("/") + CALLBACK_PATH


async def start(session: AsyncSession, ident: Identity, branch: str) -> str:
    """The provider's authorization URL for a new sign-in (state, nonce and PKCE verifier kept)."""
    provider = await _provider(session, branch)
    state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), generate_token(64)
    redirect_uri = _redirect_uri(ident)
    url = prepare_grant_uri(
        provider.authorization_endpoint,
        client_id=provider.client_id,
        response_type="code",
        redirect_uri=redirect_uri,
        scope="openid profile email",
        state=state,
        nonce=nonce,
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
    )
    session.add(
        store.OidcState(
            state=state,
            branch=branch,
            nonce=nonce,
            code_verifier=verifier,
            redirect_uri=redirect_uri,
            created_at=ident.clock.now(),
        )
    )
    await session.commit()
    return str(url)


async def _exchange_code(provider: Provider, code: str, verifier: str, redirect_uri: str) -> dict[str, Any]:
    """RFC 6749 §4.1.3 with the RFC 7636 verifier; the client authenticates with HTTP Basic."""
    auth = httpx.BasicAuth(provider.client_id, provider.client_secret) if provider.client_secret else None
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier}
    if auth is None:
        form["client_id"] = provider.client_id
    try:
        async with httpx.AsyncClient(timeout=15) as http:
            response = await http.post(provider.token_endpoint, data=form, auth=auth or httpx.USE_CLIENT_DEFAULT)
    except httpx.HTTPError as exc:
        raise Unavailable("the branch's sign-on provider does not answer", code="sso_unavailable") from exc
    if response.status_code != 200:
        raise Unauthenticated("the provider refused the authorization code", code="sso_refused")
    body: dict[str, Any] = response.json()
    return body


async def _id_token_claims(provider: Provider, id_token: str, nonce: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10) as http:
        keys = jwt.PyJWKSet.from_dict((await http.get(provider.jwks_uri)).json())
    kid = jwt.get_unverified_header(id_token).get("kid")
    key = next((k for k in keys.keys if k.key_id == kid), None)
    if key is None:
        raise Unauthenticated("the ID token is signed by a key the provider does not publish", code="sso_refused")
    try:
        claims: dict[str, Any] = jwt.decode(
            id_token,
            key.key,
            algorithms=[key.algorithm_name],
            audience=provider.client_id,
            issuer=provider.issuer,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated(f"the ID token is not valid: {exc}", code="sso_refused") from exc
    if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
        raise Unauthenticated("the ID token belongs to another sign-in (nonce)", code="sso_refused")
    return claims


async def callback(session: AsyncSession, ident: Identity, *, code: str, state: str, address: str | None) -> TokenPair:
    """Finish the sign-in: code + PKCE verifier for tokens, ID token verified, person found or created."""
    now = ident.clock.now()
    flight = await store.take_oidc_state(session, state)
    if flight is None or (now - flight.created_at).total_seconds() > STATE_LIFETIME_SECONDS:
        await session.commit()
        raise BadRequest("this sign-in is unknown or has expired; start again", code="sso_state_invalid")
    await session.commit()
    provider = await _provider(session, flight.branch)
    token = await _exchange_code(provider, code, flight.code_verifier, flight.redirect_uri)
    claims = await _id_token_claims(provider, str(token.get("id_token", "")), flight.nonce)
    mapped = map_claims(provider.mapping, claims)
    subject = f"{provider.issuer}|{claims['sub']}"
    username = str(claims.get("preferred_username") or claims["sub"])
    actor = Actor(username, mapped.roles[0] if mapped.roles else "-", flight.branch, address)
    if not mapped.roles or check_person_roles(mapped.roles, mapped.unit, mapped.division):
        await audit(session, actor, IdentityAction.SSO_REFUSED, now, detail={"roles": list(mapped.roles)})
        await session.commit()
        raise Forbidden("your groups at the sign-on provider give no role here", code="sso_no_role")
    await ident.keys.prepare(now)
    person = await _person_for(session, ident, actor, subject, username, claims, mapped, flight.branch)
    if not person.active:
        await session.commit()
        raise Forbidden("this account is disabled", code="account_disabled")
    pair = await issue_pair(session, ident, person, person.roles[0], now, address=address)
    await audit(session, actor, IdentityAction.SSO_SIGN_IN, now, detail={"issuer": provider.issuer})
    await session.commit()
    return pair


async def _person_for(
    session: AsyncSession,
    ident: Identity,
    actor: Actor,
    subject: str,
    username: str,
    claims: dict[str, Any],
    mapped: Any,
    branch: str,
) -> store.Person:
    now = ident.clock.now()
    person = await store.person_by_sso(session, subject)
    if person is None:
        if await store.person_by_username(session, username) is not None:
            raise Conflict(f"username {username!r} is taken by a person who signs in by password", code="conflict")
        person = store.Person(
            branch=branch,
            username=username,
            display_name=str(claims.get("name") or ""),
            roles=list(mapped.roles),
            unit=mapped.unit,
            division=mapped.division,
            active=True,
            group_admin=False,
            must_change_password=False,
            failed_sign_ins=0,
            totp_enabled=False,
            sso_subject=subject,
            created_at=now,
            updated_at=now,
        )
        session.add(person)
        await session.flush()
        await audit(session, actor, IdentityAction.PERSON_CREATED, now, detail={"via": "sso", "roles": person.roles})
        return person
    after = {"roles": list(mapped.roles), "unit": mapped.unit, "division": mapped.division}
    before = {"roles": list(person.roles), "unit": person.unit, "division": person.division}
    if after != before:
        person.roles, person.unit, person.division = list(mapped.roles), mapped.unit, mapped.division
        person.updated_at = now
        await audit(
            session, actor, IdentityAction.ROLE_CHANGED, now, detail={"via": "sso", "from": before, "to": after}
        )
    return person
