"""Single sign-on through identity's OpenID Connect flow, ending in a console session (issue 16).

The browser goes console → identity's start (server side) → the branch's provider → back to the console at
identity's callback path (identity's redirect base is the console's address), where the console hands the
code and state to identity and keeps the token pair it returns, exactly as after a password sign-in.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlparse

from services.console.clients import ApiFailure, Apis
from services.console.handlers.sign_in import session_of
from services.console.store import NewSession

# whether the branch has single sign-on changes rarely: asked again at most this often
AVAILABILITY_SECONDS = 30.0
_known: dict[str, tuple[float, bool]] = {}


async def sso_available(apis: Apis, branch: str) -> bool:
    """Whether identity signs the branch's people in through its provider (cached briefly)."""
    seen = _known.get(branch)
    if seen is not None and time.monotonic() - seen[0] < AVAILABILITY_SECONDS:
        return seen[1]
    try:
        answer = await apis.call("identity", "GET", f"/api/v1/auth/oidc/{branch}", None)
        configured = bool(answer.get("configured"))
    except ApiFailure:
        configured = False
    _known[branch] = (time.monotonic(), configured)
    return configured


async def sso_start(apis: Apis, branch: str) -> tuple[str, str]:
    """The provider's authorization URL (identity keeps the PKCE verifier and nonce) and its state."""
    url = await apis.redirect("identity", f"/api/v1/auth/oidc/{branch}/start")
    state = (parse_qs(urlparse(url).query).get("state") or [""])[0]
    if not state:
        raise ApiFailure(502, "identity's sign-on URL carries no state")
    return url, state


async def sso_finish(
    apis: Apis, code: str, state: str, now: datetime, session_length: timedelta, locale: str | None
) -> NewSession:
    """Identity exchanges the code and verifies the ID token; the console keeps the pair it answers with."""
    answer = await apis.call(
        "identity", "GET", "/api/v1/auth/oidc/callback", None, params={"code": code, "state": state}
    )
    return session_of(answer, None, now, session_length, locale)
