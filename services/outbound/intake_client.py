"""The self-service page's requests go to intake's API as channel `web`, with the `integration` API key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from shared.auth.client_credentials import ClientTokenError, ClientTokenSource


@dataclass(frozen=True)
class CreatedTicket:
    ticket_id: str
    ticket_number: str


class IntakeRefused(Exception):
    """Intake refused the request as written (422...) or is not answering (503): its status and field messages."""

    def __init__(self, status: int, message: str, fields: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.status, self.message, self.fields = status, message, fields


class IntakeClient:
    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        identity_url: str | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(base_url=url, timeout=timeout, transport=transport)
        self._key = api_key
        # with identity configured, the key is traded for a short-lived integration token (as callback does)
        self._tokens = ClientTokenSource(identity_url, api_key, transport=transport) if identity_url else None

    async def create_ticket(self, body: dict[str, Any], idempotency_key: str) -> CreatedTicket:
        """POST /api/v1/tickets; the same key after a lost answer gets the same ticket back (intake's 200)."""
        try:
            credentials = await self._tokens.authorization() if self._tokens else {"X-API-Key": self._key}
            response = await self._client.post(
                "/api/v1/tickets", json=body, headers={**credentials, "Idempotency-Key": idempotency_key}
            )
        except (httpx.HTTPError, ClientTokenError) as error:
            raise IntakeRefused(503, f"intake is not answering ({type(error).__name__})", []) from error
        if response.status_code == 401 and self._tokens is not None:
            self._tokens.forget()
        if response.status_code >= 400:
            try:
                problem = response.json().get("error", {})
                fields = [
                    {"field": str(f.get("field", "")), "message": str(f.get("message", ""))}
                    for f in problem.get("fields") or []
                ]
                message = str(problem.get("message", ""))
            except (ValueError, AttributeError, TypeError):
                fields, message = [], response.text[:300]
            status = response.status_code if response.status_code in (400, 409, 413, 422) else 503
            raise IntakeRefused(status, message, fields)
        answer = response.json()
        return CreatedTicket(str(answer["ticket_id"]), str(answer["ticket_number"]))

    async def close(self) -> None:
        await self._client.aclose()
