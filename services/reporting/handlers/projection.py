"""The consumer's use case: every event of hotline.tickets and hotline.sla, once, into the reporting store."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.handlers.hot_spots import record_call
from services.reporting.handlers.readmodel import project
from services.reporting.store import ProcessedEvent
from shared.clock import Clock
from shared.events import Event
from shared.inbox import unseen
from shared.policy.hot_spots import HotSpotRules

RulesOf = Callable[[str], HotSpotRules]


async def apply_events(
    session: AsyncSession, events: Sequence[Event[Any]], clock: Clock, rules_of: RulesOf
) -> list[Event[Any]]:
    """Apply a batch in order, each event at most once (inbox); returns the events to emit (outbox)."""
    fresh = await unseen(session, ProcessedEvent, [(e.event_id, e.type) for e in events], clock.now())
    emitted: list[Event[Any]] = []
    for event in events:
        if event.event_id not in fresh:
            continue
        fresh.discard(event.event_id)  # a twin later in the same batch is a duplicate too
        await project(session, event)
        emitted += await record_call(session, event, rules_of(event.branch))
    return emitted
