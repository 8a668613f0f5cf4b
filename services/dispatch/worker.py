"""The dispatch worker: consumes ticket events and urgent notices, routes tickets, hands notices to the notifier."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.dispatch.handlers import DispatchContext, handle_ticket_events, org_for
from services.dispatch.store import ProcessedEvent
from shared.db import transaction
from shared.events import Event, Payload, Topic, UrgentNoticeRequested
from shared.inbox import unseen
from shared.outbox import OutboxRelay, Sender

log = structlog.get_logger(__name__)

GROUP_ID = "hotline-dispatch"


class TopicRoutingSender:
    """Sends each contract topic to the name configured for it (tests and side-by-side deployments)."""

    def __init__(self, producer: Sender, names: Mapping[str, str]) -> None:
        self._producer = producer
        self._names = dict(names)

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None) -> Any:
        return await self._producer.send(self._names.get(topic, topic), value=value, key=key)


async def deliver_notices(
    notices: Sequence[Event[UrgentNoticeRequested]], session: AsyncSession, ctx: DispatchContext
) -> None:
    """RULES.md §1, §8: each urgent notice reaches the notifier once (inbox), with the units' duty phones."""
    if not notices or ctx.notifier is None:
        return
    fresh = await unseen(session, ProcessedEvent, [(n.event_id, n.type) for n in notices], ctx.clock.now())
    for notice in notices:
        if notice.event_id not in fresh:
            continue
        org = await org_for(session, ctx, notice.branch)
        phones: dict[str, str] = {}
        for recipient in notice.payload.recipients:
            unit = org.units.get(recipient.org_id) if org is not None and recipient.org_level == "unit" else None
            if unit is not None and unit.duty_phone:
                phones[unit.unit_id] = unit.duty_phone
        await ctx.notifier.deliver(notice, phones)


class DispatchWorker:
    """The consumer's batch handler: one transaction per batch, then a nudge to the outbox relay."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], ctx: DispatchContext, relay: OutboxRelay | None = None
    ) -> None:
        self._sessions = sessions
        self._ctx = ctx
        self._relay = relay

    async def handle(self, events: Sequence[Event[Payload]]) -> None:
        tickets = [e for e in events if e.topic is Topic.TICKETS]
        notices: list[Event[UrgentNoticeRequested]] = [
            e  # type: ignore[misc]
            for e in events
            if isinstance(e.payload, UrgentNoticeRequested)
        ]
        async with transaction(self._sessions) as session:
            emitted = await handle_ticket_events(tickets, session, self._ctx)
            await deliver_notices(notices, session, self._ctx)
        if emitted and self._relay is not None:
            self._relay.notify()
