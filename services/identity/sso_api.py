"""The single sign-on routes: start at the branch's provider, come back with a code (open routes)."""

from __future__ import annotations

from fastapi import Query
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from services.identity import store
from services.identity.api import Address, Db, Ident
from services.identity.handlers import sso as handlers
from services.identity.schemas import TokenPair
from shared.auth import SecureRouter, public
from shared.http.openapi import answers

sso = SecureRouter(prefix="/api/v1/auth/oidc", tags=["single sign-on"], dependencies=[public()])


@sso.get("/{branch}/start", status_code=302, response_class=RedirectResponse, responses=answers(404, 503))
async def start_sign_on(branch: str, db: Db, ident: Ident) -> RedirectResponse:
    """Send the browser to the branch's OpenID Connect provider (authorization code + PKCE)."""
    return RedirectResponse(await handlers.start(db, ident, branch), status_code=302)


@sso.get("/callback", response_model=TokenPair, responses=answers(400, 401, 403, 409, 503))
async def finish_sign_on(
    db: Db,
    ident: Ident,
    address: Address,
    code: str = Query(min_length=1, max_length=4000),
    state: str = Query(min_length=1, max_length=200),
) -> TokenPair:
    """The provider's redirect back: the code is exchanged, the ID token verified, the person's roles mapped."""
    return await handlers.callback(db, ident, code=code, state=state, address=address)


class SsoAvailability(BaseModel):
    branch: str
    configured: bool


@sso.get("/{branch}", response_model=SsoAvailability)
async def sign_on_available(branch: str, db: Db) -> SsoAvailability:
    """Whether the branch signs people in through its provider (the console's sign-in page shows the button)."""
    row = await store.branch_sign_in(db, branch)
    return SsoAvailability(branch=branch, configured=bool(row and row.oidc_issuer and row.oidc_client_id))
