"""The callback worker: consumes hotline.tickets into tasks and relays the outbox to Kafka."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.callback.handlers import Policies, handle_ticket_events
from shared.clock import Clock
from shared.db import transaction
from shared.events import Event, Payload
from shared.outbox import OutboxRelay


class TicketEventsHandler:
    """The consumer's batch handler: one transaction per batch (inbox, state, outbox), then a relay nudge."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        policies: Policies,
        relay: OutboxRelay | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._policies = policies
        self._relay = relay

    async def __call__(self, events: Sequence[Event[Payload]]) -> None:
        async with transaction(self._sessions) as session:
            emitted = await handle_ticket_events(session, events, self._clock, self._policies)
        if emitted and self._relay is not None:
            self._relay.notify()
