"""The consumer's use case: every event of hotline.tickets and hotline.sla, once, into the reporting store."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.handlers.hot_spots import record_call
from services.reporting.handlers.readmodel import BatchRows, project
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
    firsts: list[Event[Any]] = []
    for event in events:
        if event.event_id in fresh:
            fresh.discard(event.event_id)  # a twin later in the same batch is a duplicate too
            firsts.append(event)
    rows = BatchRows(session)
    await rows.load(firsts)
    for event in firsts:
        project(rows, event)
    await rows.flush()  # the whole batch's rows in one write
    emitted: list[Event[Any]] = []
    for event in firsts:  # hot spots keep their own tables: counted after, in the same order
        emitted += await record_call(session, event, rules_of(event.branch))
    return emitted
