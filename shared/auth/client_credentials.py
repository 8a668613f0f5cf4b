"""A machine client's access token from identity: its API key traded for a short-lived `integration` token.

The token is kept until a minute before it expires, so a busy client asks identity about once per
token lifetime; the services it calls verify the token against identity's JWKS like any other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

TOKEN_PATH = "/api/v1/auth/token"  # noqa: S105 - a URL path
RENEW_BEFORE_SECONDS = 60.0


class ClientTokenError(RuntimeError):
    """Identity did not give a token: unreachable, or the key is refused (revoked, unknown)."""


@dataclass
class ClientTokenSource:
    identity_url: str
    api_key: str
    timeout: float = 5.0
    transport: httpx.AsyncBaseTransport | None = None
    _token: str | None = None
    _expires_at: float = 0.0

    async def authorization(self) -> dict[str, str]:
        """The `Authorization` header to send, renewing the token when it is about to expire."""
        if self._token is None or time.monotonic() >= self._expires_at - RENEW_BEFORE_SECONDS:
            await self._renew()
        return {"Authorization": f"Bearer {self._token}"}

    def forget(self) -> None:
        """Drop the token (a 401 from the service it was sent to: the key may have been rotated)."""
        self._token = None

    async def _renew(self) -> None:
        try:
            async with httpx.AsyncClient(
                base_url=self.identity_url, timeout=self.timeout, transport=self.transport
            ) as c:
                response = await c.post(TOKEN_PATH, json={"api_key": self.api_key})
        except httpx.HTTPError as exc:
            raise ClientTokenError(f"identity unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise ClientTokenError(f"identity refused the API key ({response.status_code})")
        body = response.json()
        self._token = str(body["access_token"])
        self._expires_at = time.monotonic() + float(body.get("expires_in", 600))
