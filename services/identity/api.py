"""The identity API: sign-in, refresh, sign-out, JWKS (open); the directory and machine keys (admins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity import store
from services.identity.handlers import directory, machines, sign_in
from services.identity.handlers.common import Actor, Identity, ensure_admin_of
from services.identity.schemas import (
    AccessToken,
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyPage,
    BranchSignInIn,
    ClientTokenIn,
    ImportIn,
    ImportResult,
    LoginIn,
    LogoutIn,
    Me,
    PasswordChangeIn,
    PasswordResetIn,
    PeoplePage,
    PersonCreate,
    PersonPublic,
    PersonUpdate,
    RefreshIn,
    RejectedRowOut,
    TokenPair,
    TotpConfirmIn,
    TotpEnrolIn,
    TotpEnrolment,
)
from shared.auth import CurrentPrincipal, Principal, Role, SecureRouter, audit_router, public, require_roles
from shared.http.deps import db_session
from shared.http.errors import ApiError
from shared.http.openapi import answers


def _identity(request: Request) -> Identity:
    ident: Identity = request.app.state.identity
    return ident


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


Db = Annotated[AsyncSession, Depends(db_session)]
Ident = Annotated[Identity, Depends(_identity)]
Address = Annotated[str | None, Depends(_address)]
Admin = Annotated[Principal, require_roles(Role.ADMIN)]

# --------------------------------------------------------------------------- open: sign-in and keys

auth = SecureRouter(prefix="/api/v1/auth", tags=["sign-in"], dependencies=[public()])


@auth.post("/login", response_model=TokenPair, responses=answers(401, 403, 423, 429))
async def login(body: LoginIn, db: Db, ident: Ident, address: Address) -> TokenPair:
    """Username and password (and a one-time code when required) for an access and a refresh token."""
    return await sign_in.login(db, ident, body, address)


@auth.post("/refresh", response_model=TokenPair, responses=answers(401, 403))
async def refresh(body: RefreshIn, db: Db, ident: Ident, address: Address) -> TokenPair:
    """A new pair for a refresh token, which is spent; `role` switches the role acted in."""
    return await sign_in.refresh(db, ident, body, address)


@auth.post("/logout", status_code=204)
async def logout(body: LogoutIn, db: Db, ident: Ident, address: Address) -> Response:
    """End the sign-in: its refresh tokens are revoked (its access token dies within its lifetime)."""
    await sign_in.logout(db, ident, body.refresh_token, address)
    return Response(status_code=204)


@auth.post("/password", response_model=TokenPair, responses=answers(401, 403, 423, 429))
async def change_password(body: PasswordChangeIn, db: Db, ident: Ident, address: Address) -> TokenPair:
    """Change the password with the current one (also after an admin's reset); other sign-ins end."""
    return await sign_in.change_password(db, ident, body, address)


@auth.post("/totp/enrol", response_model=TotpEnrolment, responses=answers(401, 403, 423, 429))
async def enrol_totp(body: TotpEnrolIn, db: Db, ident: Ident, address: Address) -> TotpEnrolment:
    return await sign_in.enrol_totp(db, ident, body, address)


@auth.post("/totp/confirm", status_code=204, responses=answers(401, 403, 423, 429))
async def confirm_totp(body: TotpConfirmIn, db: Db, ident: Ident, address: Address) -> Response:
    await sign_in.confirm_totp(db, ident, body, address)
    return Response(status_code=204)


@auth.post("/token", response_model=AccessToken, responses=answers(401))
async def client_token(body: ClientTokenIn, db: Db, ident: Ident, address: Address) -> AccessToken:
    """A machine client's API key for a short-lived `integration` access token carrying its scopes."""
    return await machines.client_token(db, ident, body.api_key, address)


jwks = SecureRouter(tags=["sign-in"], dependencies=[public()])


@jwks.get("/.well-known/jwks.json")
async def jwks_document(ident: Ident, response: Response) -> dict[str, Any]:
    """The public keys of the access tokens (two during a key roll-over)."""
    response.headers["Cache-Control"] = "public, max-age=60"
    return await ident.keys.jwks(ident.clock.now())


# --------------------------------------------------------------------------- signed in

me = SecureRouter(prefix="/api/v1/me", tags=["people"])


@me.get("", response_model=Me, dependencies=[require_roles(*[r for r in Role if r is not Role.INTEGRATION])])
async def who_am_i(principal: CurrentPrincipal, db: Db) -> Me:
    person = await store.person_by_username(db, principal.subject)
    if person is None or not person.active:
        raise ApiError(401, "this account no longer exists or is disabled", code="unauthenticated")
    return Me(
        subject=person.username,
        branch=person.branch,
        role=principal.role.value,
        roles=list(person.roles),
        display_name=person.display_name,
        unit=person.unit,
        division=person.division,
    )


# --------------------------------------------------------------------------- admins: people

people = SecureRouter(prefix="/api/v1/people", tags=["people"])


async def _group_admin(db: AsyncSession, principal: Principal) -> bool:
    acting = await store.person_by_username(db, principal.subject)
    return acting is not None and acting.group_admin


async def _person_in_scope(db: AsyncSession, principal: Principal, username: str) -> store.Person:
    person = await store.person_by_username(db, username)
    if person is None or (person.branch != principal.branch and not await _group_admin(db, principal)):
        raise ApiError(404, f"no person {username!r} in your scope")
    return person


@people.get("", response_model=PeoplePage)
async def list_people(principal: Admin, db: Db, branch: str | None = None) -> PeoplePage:
    branch = branch or principal.branch
    ensure_admin_of(principal, branch, await _group_admin(db, principal))
    return PeoplePage(people=[directory.public(p) for p in await store.people_of(db, branch)])


@people.post("", response_model=PersonPublic, status_code=201)
async def create_person(body: PersonCreate, principal: Admin, db: Db, ident: Ident, address: Address) -> PersonPublic:
    group_admin = await _group_admin(db, principal)
    ensure_admin_of(principal, body.branch, group_admin)
    if body.group_admin and not group_admin:
        raise ApiError(403, "only a group admin makes group admins", code="forbidden")
    person = await directory.create_person(db, ident, Actor.of(principal, address), body)
    await db.commit()
    return directory.public(person)


@people.post("/import", response_model=ImportResult)
async def import_people(body: ImportIn, principal: Admin, db: Db, ident: Ident, address: Address) -> ImportResult:
    """HR's CSV in `csv` (every API body is JSON): every row imported, or none and every bad row with its line."""
    branch = body.branch or principal.branch
    ensure_admin_of(principal, branch, await _group_admin(db, principal))
    text = body.csv
    report = await directory.import_people(db, ident, Actor.of(principal, address), branch, text)
    if report.rejected:
        await db.rollback()
        rows = [RejectedRowOut(line=r.line, username=r.username, reasons=list(r.reasons)) for r in report.rejected]
        raise ApiError(
            422,
            f"{len(rows)} row(s) cannot be imported; nothing was imported",
            code="import_rejected",
            fields=[{"field": f"line {r.line}", "message": "; ".join(r.reasons)} for r in rows],
        )
    await db.commit()
    return ImportResult(branch=branch, created=report.created)


@people.get("/{username}", response_model=PersonPublic)
async def get_person(username: str, principal: Admin, db: Db) -> PersonPublic:
    return directory.public(await _person_in_scope(db, principal, username))


@people.patch("/{username}", response_model=PersonPublic)
async def update_person(
    username: str, body: PersonUpdate, principal: Admin, db: Db, ident: Ident, address: Address
) -> PersonPublic:
    person = await _person_in_scope(db, principal, username)
    await directory.update_person(db, ident, Actor.of(principal, address), person, body)
    await db.commit()
    return directory.public(person)


@people.post("/{username}/disable", response_model=PersonPublic)
async def disable_person(username: str, principal: Admin, db: Db, ident: Ident, address: Address) -> PersonPublic:
    person = await _person_in_scope(db, principal, username)
    if person.username == principal.subject:
        raise ApiError(409, "you cannot disable yourself", code="conflict")
    await directory.set_active(db, ident, Actor.of(principal, address), person, False)
    await db.commit()
    return directory.public(person)


@people.post("/{username}/enable", response_model=PersonPublic)
async def enable_person(username: str, principal: Admin, db: Db, ident: Ident, address: Address) -> PersonPublic:
    person = await _person_in_scope(db, principal, username)
    await directory.set_active(db, ident, Actor.of(principal, address), person, True)
    await db.commit()
    return directory.public(person)


@people.post("/{username}/reset-password", response_model=PersonPublic)
async def reset_password(
    username: str, body: PasswordResetIn, principal: Admin, db: Db, ident: Ident, address: Address
) -> PersonPublic:
    person = await _person_in_scope(db, principal, username)
    await directory.reset_password(db, ident, Actor.of(principal, address), person, body.temporary_password)
    await db.commit()
    return directory.public(person)


@people.post("/{username}/reset-totp", response_model=PersonPublic)
async def reset_totp(username: str, principal: Admin, db: Db, ident: Ident, address: Address) -> PersonPublic:
    """Remove a lost second factor; the person enrols a new one at their next sign-in."""
    person = await _person_in_scope(db, principal, username)
    await directory.reset_totp(db, ident, Actor.of(principal, address), person)
    await db.commit()
    return directory.public(person)


# --------------------------------------------------------------------------- admins: machine keys, branch settings

keys = SecureRouter(prefix="/api/v1/api-keys", tags=["machine keys"])


@keys.get("", response_model=ApiKeyPage)
async def list_keys(principal: Admin, db: Db, branch: str | None = None) -> ApiKeyPage:
    branch = branch or principal.branch
    ensure_admin_of(principal, branch, await _group_admin(db, principal))
    return ApiKeyPage(keys=[machines.public(k) for k in await store.api_keys_of(db, branch)])


@keys.post("", response_model=ApiKeyIssued, status_code=201)
async def create_key(body: ApiKeyCreate, principal: Admin, db: Db, ident: Ident, address: Address) -> ApiKeyIssued:
    ensure_admin_of(principal, body.branch, await _group_admin(db, principal))
    issued = await machines.create_key(db, ident, Actor.of(principal, address), body)
    await db.commit()
    return issued


async def _key_in_scope(db: AsyncSession, principal: Principal, key_id: str) -> store.ApiKey:
    key = await store.api_key_by_id(db, key_id)
    if key is None or (key.branch != principal.branch and not await _group_admin(db, principal)):
        raise ApiError(404, f"no API key {key_id!r} in your scope")
    return key


@keys.post("/{key_id}/rotate", response_model=ApiKeyIssued, status_code=201)
async def rotate_key(key_id: str, principal: Admin, db: Db, ident: Ident, address: Address) -> ApiKeyIssued:
    key = await _key_in_scope(db, principal, key_id)
    issued = await machines.rotate_key(db, ident, Actor.of(principal, address), key)
    await db.commit()
    return issued


@keys.post("/{key_id}/revoke", status_code=204)
async def revoke_key(key_id: str, principal: Admin, db: Db, ident: Ident, address: Address) -> Response:
    key = await _key_in_scope(db, principal, key_id)
    await machines.revoke_key(db, ident, Actor.of(principal, address), key)
    await db.commit()
    return Response(status_code=204)


branches = SecureRouter(prefix="/api/v1/branches", tags=["branch sign-in"])


@branches.put("/{branch}/sign-in", status_code=204)
async def set_branch_sign_in(
    branch: str, body: BranchSignInIn, principal: Admin, db: Db, ident: Ident, address: Address
) -> Response:
    """Second factor required per role; the branch's OpenID Connect provider and its claim mapping."""
    ensure_admin_of(principal, branch, await _group_admin(db, principal))
    await machines.set_branch_sign_in(db, ident, Actor.of(principal, address), branch, body)
    await db.commit()
    return Response(status_code=204)


def routers() -> list[SecureRouter]:
    from services.identity.sso_api import sso

    return [auth, jwks, sso, me, people, keys, branches, audit_router(store.AUDIT, db_session)]
