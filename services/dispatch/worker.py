"""The dispatch worker: consumes ticket events and urgent notices, routes tickets, hands notices to the notifier."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.dispatch.handlers import (
    DispatchContext,
    handle_ticket_events,
    org_for,
    queue_for_center,
    ticket_from_received,
)
from services.dispatch.store import Outbox, ProcessedEvent, Ticket
from shared.db import transaction
from shared.events import Event, Payload, TicketReceived, Topic, UrgentNoticeRequested
from shared.http.guard import strip_control_characters
from shared.inbox import unseen
from shared.outbox import OutboxRelay, Sender, stage

log = structlog.get_logger(__name__)


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


def _cleaned(value: Any) -> Any:
    if isinstance(value, str):
        return strip_control_characters(value)
    if isinstance(value, dict):
        return {k: _cleaned(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_cleaned(v) for v in value]
    return value


async def queue_unhandled_ticket(
    event: Event[Payload], error: BaseException, session: AsyncSession, ctx: DispatchContext
) -> list[Event[Any]]:
    """A received ticket dispatch gave up on still reaches people: the center's manual queue.

    Its text is kept without the control characters that may have made it fail (an older
    intake let them through; PostgreSQL refuses a NUL), and the alert metric counts it
    (`hotline_dispatch_manual_queue_total{reason="consumer_failed"}`). RULES.md §2: the
    dispatch clock keeps running, so the ticket must never wait unseen on the dead-letter topic.
    """
    if not isinstance(event.payload, TicketReceived) or event.ticket_id is None:
        return []
    if await session.get(Ticket, event.ticket_id) is not None:
        return []
    clean = event.model_copy(update={"payload": TicketReceived.model_validate(_cleaned(event.payload.model_dump()))})
    ticket = ticket_from_received(clean, ctx.clock.now())  # type: ignore[arg-type]
    session.add(ticket)
    detail = f"dispatch could not handle this ticket ({type(error).__name__}); see hotline.deadletter"
    events = queue_for_center(ticket, ctx, "consumer_failed", detail, str(event.event_id))
    stage(session, Outbox, events, ctx.clock)
    return events


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

    async def on_given_up(self, event: Event[Payload], error: BaseException) -> None:
        """EventConsumer hook: the event is about to be dead-lettered; no work order may vanish with it."""
        async with transaction(self._sessions) as session:
            emitted = await queue_unhandled_ticket(event, error, session, self._ctx)
        if emitted:
            log.error("unhandled_ticket_queued_for_center", ticket_id=event.ticket_id, error=type(error).__name__)
            if self._relay is not None:
                self._relay.notify()
