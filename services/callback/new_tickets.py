"""Forwards new requests raised on callbacks to the intake service's API: durable rows, retried until taken."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.callback.settings import CallbackSettings
from services.callback.store import NewTicketRequest, pending_new_requests
from shared.auth.client_credentials import ClientTokenError, ClientTokenSource
from shared.clock import Clock

log = structlog.get_logger(__name__)

FORWARDED = Counter("hotline_callback_new_tickets_total", "New requests forwarded to intake", ["result"])

# statuses after which asking again cannot help: intake refused the request as written. A 401,
# 403 or 404 is a configuration fault (key, URL) that an admin fixes: those rows keep waiting.
_REFUSED = {400, 413, 415, 422}


@dataclass(frozen=True)
class Refusal:
    """Intake refused a new request as written: its message and field errors, for the desk."""

    status: int
    message: str
    fields: list[dict[str, str]]


def _refusal(response: httpx.Response) -> Refusal:
    try:
        error = response.json().get("error", {})
        fields = [{"field": str(f.get("field", "")), "message": str(f.get("message", ""))} for f in error["fields"]]
        message = str(error.get("message", ""))
    except (ValueError, AttributeError, KeyError, TypeError):
        fields, message = [], response.text[:500]
    return Refusal(response.status_code, message, fields)


class IntakeForwarder:
    """Posts each pending NewTicketRequest to intake with the `integration` API key.

    A request is a row written with the callback's outcome, so a crash or an unreachable intake
    loses nothing: the row stays pending and is retried with a growing delay. The row id is sent
    as `Idempotency-Key` so that a retry after a lost answer can be recognised by intake.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: CallbackSettings,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._clock = clock
        self._transport = transport
        self._tokens: ClientTokenSource | None = None
        if settings.identity_url and settings.intake_api_key is not None:
            key = settings.intake_api_key.get_secret_value()
            self._tokens = ClientTokenSource(settings.identity_url, key, transport=transport)

    def _backoff(self, tries: int) -> timedelta:
        seconds = min(self._settings.forward_interval_seconds * (2**tries), self._settings.forward_max_backoff_seconds)
        return timedelta(seconds=seconds)

    async def forward_once(self) -> int:
        """Try every pending request that is due; returns how many intake took."""
        created = 0
        async with self._sessions() as session, session.begin():
            pending = await pending_new_requests(session, self._clock.now())
            if not pending:
                # nothing due (nearly always): no HTTP client, whose TLS context alone cost the idle worker ~0.05 of
                # a core at one look a second (issue 24)
                return 0
            async with httpx.AsyncClient(
                base_url=self._settings.intake_url,
                timeout=self._settings.intake_timeout_seconds,
                transport=self._transport,
            ) as client:
                for request in pending:
                    created += await self._forward(client, request)
        return created

    async def submit_now(self, request: NewTicketRequest) -> Refusal | None:
        """One try while the agent is still on the outcome call (RULES.md §5: nothing dropped).

        Intake's refusal comes back for the desk to correct; an unreachable intake, a missing key
        or any other answer leaves the row pending for the background forwarder, untouched.
        """
        key = self._settings.intake_api_key
        if key is None:
            return None
        async with httpx.AsyncClient(
            base_url=self._settings.intake_url, timeout=self._settings.intake_timeout_seconds, transport=self._transport
        ) as client:
            try:
                response = await self._post(client, request, key.get_secret_value())
            except (httpx.HTTPError, ClientTokenError) as error:
                log.info("new_ticket_left_to_forwarder", request_id=request.id, error=type(error).__name__)
                return None
        if response.status_code in _REFUSED:
            FORWARDED.labels("refused_on_call").inc()
            return _refusal(response)
        if response.is_success:
            request.tries += 1
            self._created(request, response)
        return None

    async def _post(self, client: httpx.AsyncClient, request: NewTicketRequest, key: str) -> httpx.Response:
        # with identity configured, the key is traded for a short-lived integration token
        credentials = await self._tokens.authorization() if self._tokens else {"X-API-Key": key}
        # the row id as Idempotency-Key: a retry after a lost answer makes no second ticket
        headers = {**credentials, "Idempotency-Key": request.id}
        response = await client.post(self._settings.intake_tickets_path, json=request.body, headers=headers)
        if response.status_code == 401 and self._tokens is not None:
            self._tokens.forget()
        return response

    def _created(self, request: NewTicketRequest, response: httpx.Response) -> None:
        body: Any = response.json() if response.content else {}
        request.status, request.finished_at, request.last_error = "created", self._clock.now(), None
        if isinstance(body, dict):
            ticket = body.get("ticket_id") or body.get("id")
            request.created_ticket_id = str(ticket) if ticket is not None else None
        log.info("new_ticket_created", request_id=request.id, parent_ticket_id=request.parent_ticket_id)
        FORWARDED.labels("created").inc()

    async def _forward(self, client: httpx.AsyncClient, request: NewTicketRequest) -> int:
        now = self._clock.now()
        request.tries += 1
        key = self._settings.intake_api_key
        if key is None:
            request.last_error = "HOTLINE_CALLBACK_INTAKE_API_KEY is not set"
            request.next_try_at = now + self._backoff(request.tries)
            FORWARDED.labels("waiting").inc()
            return 0
        try:
            response = await self._post(client, request, key.get_secret_value())
        except (httpx.HTTPError, ClientTokenError) as error:
            request.last_error = f"intake unreachable: {type(error).__name__}"
            request.next_try_at = now + self._backoff(request.tries)
            log.warning("new_ticket_forward_failed", request_id=request.id, error=request.last_error)
            FORWARDED.labels("retry").inc()
            return 0
        if response.is_success:
            self._created(request, response)
            return 1
        request.last_error = f"intake answered {response.status_code}: {response.text[:1500]}"
        if response.status_code in _REFUSED:
            request.status, request.finished_at = "rejected", now
            log.error("new_ticket_rejected", request_id=request.id, status=response.status_code)
            FORWARDED.labels("rejected").inc()
        else:
            request.next_try_at = now + self._backoff(request.tries)
            FORWARDED.labels("retry").inc()
        return 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.forward_once()
            except Exception as error:  # the database is away: the rows wait, nothing is lost
                log.warning("new_ticket_forwarder_failed", error=str(error))
            try:
                await asyncio.wait_for(stop.wait(), timeout=self._settings.forward_interval_seconds)
            except TimeoutError:
                pass
