"""The outbound worker: consumes hotline.tickets into queued status SMS, then nudges the relay and the sender."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.outbound.handlers import OutboundContext, handle_ticket_events
from shared.db import transaction
from shared.events import Event, Payload, Topic
from shared.outbox import OutboxRelay, Sender
from shared.sms import SmsSender


class OutboundWorker:
    """The consumer's batch handler: one transaction per batch (inbox, contacts, SMS queue, outbox)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        ctx: OutboundContext,
        relay: OutboxRelay | None,
        sender: SmsSender | None,
    ) -> None:
        self._sessions = sessions
        self._ctx = ctx
        self._relay = relay
        self._sender = sender

    async def handle(self, events: Sequence[Event[Payload]]) -> None:
        async with transaction(self._sessions) as session:
            emitted = await handle_ticket_events(session, events, self._ctx)
        if self._ctx.webhooks is not None:
            self._ctx.webhooks.notify()  # the batch may have staged deliveries
        if emitted:
            if self._relay is not None:
                self._relay.notify()
            if self._sender is not None:
                self._sender.notify()


class RenamingSender:
    """Sends hotline.tickets to the configured name (tests and side-by-side deployments use their own)."""

    def __init__(self, producer: Sender, tickets_topic: str) -> None:
        self._producer = producer
        self._tickets = tickets_topic

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None) -> Any:
        name = self._tickets if topic == Topic.TICKETS.value else topic
        return await self._producer.send(name, value=value, key=key)
