"""The other services' APIs as the console calls them, always with the signed-in user's own token."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from services.console.settings import ConsoleSettings

ServiceName = Literal["intake", "dispatch", "sla", "callback", "identity", "knowledge", "reporting", "outbound"]


@dataclass
class ApiFailure(Exception):
    """A 4xx/5xx from a service: status, message, field errors ({field: message}, paths as the API names them)."""

    status: int
    message: str
    fields: dict[str, str] = field(default_factory=dict)
    code: str = ""

    def __str__(self) -> str:
        return f"{self.status} {self.message}"


def failure_of(response: httpx.Response) -> ApiFailure:
    """Read the project's error body `{"error": {code, message, fields}}`."""
    try:
        body = response.json()
    except ValueError:
        return ApiFailure(response.status_code, response.text[:200] or response.reason_phrase)
    error = body.get("error", {}) if isinstance(body, dict) else {}
    fields = {
        str(f.get("field", "")): str(f.get("message", "")) for f in error.get("fields") or [] if isinstance(f, dict)
    }
    return ApiFailure(
        response.status_code, str(error.get("message", response.reason_phrase)), fields, str(error.get("code", ""))
    )


class Apis:
    """One pooled HTTP client per service; each call names the user's token."""

    def __init__(self, settings: ConsoleSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        urls = {
            "intake": settings.intake_url,
            "dispatch": settings.dispatch_url,
            "sla": settings.sla_url,
            "callback": settings.callback_url,
            "identity": settings.identity_url,
            "reporting": settings.reporting_url,
            "knowledge": settings.knowledge_url,
            "outbound": settings.outbound_url,  # issue 21: self-service
        }
        timeout = httpx.Timeout(settings.api_timeout_seconds)
        self._clients = {
            name: httpx.AsyncClient(base_url=url, timeout=timeout, transport=transport) for name, url in urls.items()
        }

    async def call(
        self,
        service: ServiceName,
        method: str,
        path: str,
        token: str | None,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        wait_seconds: float | None = None,  # issue 18: for a call known to take long (a bulletin's PDF)
    ) -> Any:
        """The decoded JSON body of a 2xx, else ApiFailure (a transport error is a 503 ApiFailure)."""
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            client = self._clients[service]
            wait = client.timeout if wait_seconds is None else httpx.Timeout(wait_seconds)
            response = await client.request(method, path, json=json, params=clean, headers=sent, timeout=wait)
        except httpx.HTTPError as error:
            raise ApiFailure(503, f"{service} is not answering ({type(error).__name__})") from error
        if response.status_code >= 400:
            raise failure_of(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def redirect(self, service: ServiceName, path: str) -> str:
        """Where an open route sends the browser (its 302's Location), else ApiFailure."""
        try:
            response = await self._clients[service].get(path)
        except httpx.HTTPError as error:
            raise ApiFailure(503, f"{service} is not answering ({type(error).__name__})") from error
        if response.status_code >= 400:
            raise failure_of(response)
        location = response.headers.get("location")
        if response.status_code not in (301, 302, 303, 307) or not location:
            raise ApiFailure(502, f"{service} did not redirect ({response.status_code})")
        return str(location)

    async def stream(self, service: ServiceName, path: str, token: str) -> httpx.Response:
        """A GET whose body is read as it comes (a file to pass on); the caller closes it. ApiFailure on 4xx/5xx."""
        client = self._clients[service]
        request = client.build_request("GET", path, headers={"Authorization": f"Bearer {token}"})
        try:
            response = await client.send(request, stream=True)
        except httpx.HTTPError as error:
            raise ApiFailure(503, f"{service} is not answering ({type(error).__name__})") from error
        if response.status_code >= 400:
            await response.aread()
            await response.aclose()
            raise failure_of(response)
        return response

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
