"""The reporting worker: consumes hotline.tickets and hotline.sla into the store, relays the outbox."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.reporting.handlers import RulesOf, apply_events
from services.reporting.store import Outbox
from shared.clock import Clock
from shared.db import transaction
from shared.events import Event, Payload
from shared.outbox import OutboxRelay, Sender, stage


class ReportingEventsHandler:
    """The consumer's batch handler: one transaction per batch (inbox, store, outbox), then a relay nudge."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        rules_of: RulesOf,
        relay: OutboxRelay | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._rules_of = rules_of
        self._relay = relay

    async def __call__(self, events: Sequence[Event[Payload]]) -> None:
        async with transaction(self._sessions) as session:
            emitted = await apply_events(session, events, self._clock, self._rules_of)
            stage(session, Outbox, emitted, self._clock)
        if emitted and self._relay is not None:
            self._relay.notify()


class RenamedTopics:
    """Sends to renamed topics (tests, side-by-side deployments); names not in the map pass through."""

    def __init__(self, producer: Sender, renames: Mapping[str, str]) -> None:
        self._producer = producer
        self._renames = dict(renames)

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None) -> Any:
        return await self._producer.send(self._renames.get(topic, topic), value=value, key=key)
