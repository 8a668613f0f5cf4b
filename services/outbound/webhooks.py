"""Webhooks: a branch's subscriptions to ticket events, signed deliveries in order per ticket, retries, replay.

Signature: `X-Hotline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` (docs/outbound.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from prometheus_client import Counter
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.outbound.store import WebhookDelivery, WebhookSubscription
from shared.clock import Clock
from shared.events import Event, encode, redacted
from shared.wakeup import Wakeup

log = structlog.get_logger(__name__)

DELIVERED = Counter("hotline_webhook_delivered_total", "Webhook deliveries a receiver acknowledged", ["branch"])
GAVE_UP = Counter(
    "hotline_webhook_failed_total", "Webhook deliveries given up after 24 h of retries (an alert)", ["branch"]
)

PENDING, DELIVERED_STATE, FAILED_STATE = "pending", "delivered", "failed"


class UnsafeUrl(ValueError):
    """A URL a webhook may not point at; the message says why."""


def check_url(url: str, *, allow_private: bool) -> str:
    """http(s) only; no loopback, link-local or private address (SSRF) unless the configuration allows it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl(f"the URL must start with http:// or https://, not {parts.scheme or 'nothing'}")
    if not parts.hostname:
        raise UnsafeUrl("the URL has no host")
    if allow_private:
        return url
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError):
        raise UnsafeUrl(f"the host {parts.hostname} does not resolve") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_loopback or address.is_link_local or address.is_private or address.is_reserved:
            raise UnsafeUrl(f"the host {parts.hostname} is a loopback, link-local or private address ({address})")
    return url


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def body_for(event: Event[Any], personal_data: bool) -> bytes:
    """The event as JSON; its personal fields masked unless the subscription was granted them (RULES.md §6)."""
    if personal_data:
        return encode(event)
    return json.dumps(redacted(event), ensure_ascii=False, separators=(",", ":")).encode()


async def active_subscriptions(session: AsyncSession, branches: set[str]) -> list[WebhookSubscription]:
    """The active subscriptions of `branches` (one query for a consumed batch)."""
    if not branches:
        return []
    query = select(WebhookSubscription).where(
        WebhookSubscription.branch.in_(branches), WebhookSubscription.active.is_(True)
    )
    return list((await session.execute(query)).scalars())


def subscribed_types(subscriptions: Sequence[WebhookSubscription]) -> set[tuple[str, str]]:
    """(branch, event type) of every event some subscription wants delivered."""
    return {(s.branch, event_type) for s in subscriptions for event_type in s.event_types}


async def stage_deliveries(
    session: AsyncSession, events: Sequence[Event[Any]], now: datetime, subscriptions: Sequence[WebhookSubscription]
) -> int:
    """One delivery row per subscription that wants each event (once per subscription and event id)."""
    staged = 0
    for event in events:
        for subscription in subscriptions:
            if subscription.branch != event.branch or event.type not in subscription.event_types:
                continue
            session.add(
                WebhookDelivery(
                    subscription_id=subscription.id,
                    ticket_id=event.ticket_id or "",
                    event_id=str(event.event_id),
                    event_type=event.type,
                    body=body_for(event, subscription.personal_data),
                    state=PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            staged += 1
    return staged


class WebhookDeliverer:
    """Posts due deliveries, the oldest first for each subscription and ticket (a later one waits for it)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        retry_delays: Sequence[float],
        allow_private: bool,
        poll_interval: float = 1.0,
        timeout: float = 10.0,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._delays = tuple(retry_delays)
        self._allow_private = allow_private
        self._poll = poll_interval
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._wake = Wakeup()

    def notify(self) -> None:
        self._wake.notify()

    async def _heads(self) -> list[int]:
        """The first undelivered delivery of each (subscription, ticket), if it is due."""
        now = self._clock.now()
        async with self._sessions() as session:
            firsts = (
                select(func.min(WebhookDelivery.id).label("id"))
                .where(WebhookDelivery.state == PENDING)
                .group_by(WebhookDelivery.subscription_id, WebhookDelivery.ticket_id)
                .subquery()
            )
            rows = await session.execute(
                select(WebhookDelivery.id)
                .join(firsts, firsts.c.id == WebhookDelivery.id)
                .where(WebhookDelivery.next_attempt_at <= now)
                .order_by(WebhookDelivery.id)
                .limit(100)
            )
            return [row.id for row in rows]

    async def _deliver(self, delivery_id: int) -> None:
        async with self._sessions() as session, session.begin():
            delivery = await session.get(WebhookDelivery, delivery_id, with_for_update=True)
            if delivery is None or delivery.state != PENDING:
                return
            subscription = await session.get(WebhookSubscription, delivery.subscription_id)
            assert subscription is not None
            delivery.attempts += 1
            now = self._clock.now()
            timestamp = int(now.timestamp())
            headers = {
                "Content-Type": "application/json",
                "X-Hotline-Event-Id": delivery.event_id,
                "X-Hotline-Event-Type": delivery.event_type,
                "X-Hotline-Delivery": str(delivery.id),
                "X-Hotline-Signature": signature(subscription.secret, timestamp, delivery.body),
            }
            error: str | None = None
            try:
                check_url(subscription.url, allow_private=self._allow_private)  # DNS may have changed since
                response = await self._client.post(subscription.url, content=delivery.body, headers=headers)
                delivery.last_status = response.status_code
                if 200 <= response.status_code < 300:
                    delivery.state = DELIVERED_STATE
                    delivery.delivered_at = now
                    DELIVERED.labels(subscription.branch).inc()
                    return
                error = f"receiver answered {response.status_code}"
            except (httpx.HTTPError, ValueError) as problem:
                error = f"{type(problem).__name__}: {problem}"[:300]
            delivery.last_error = error
            waited = (now - delivery.created_at).total_seconds()
            if delivery.attempts <= len(self._delays) and waited < 24 * 3600:
                delivery.next_attempt_at = now + timedelta(seconds=self._delays[delivery.attempts - 1])
                return
            delivery.state = FAILED_STATE
            GAVE_UP.labels(subscription.branch).inc()
            log.error("webhook_failed", delivery=delivery.id, subscription=subscription.id, error=error)

    async def deliver_due(self) -> int:
        heads = await self._heads()
        await asyncio.gather(*(self._deliver(head) for head in heads))
        return len(heads)

    async def run(self, stop: asyncio.Event) -> None:
        await self._wake.run(stop, self.deliver_due, poll=self._poll, failure_event="webhook_deliverer_failed")

    async def close(self) -> None:
        await self._client.aclose()
