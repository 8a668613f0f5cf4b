"""The SLA worker: ticket events and co-partitioned ticks in (the Faust app of `app`), SLA events out.

Each ticket event moves its clocks (`handlers.apply_event`); each tick fires what fell due in the partition
(`handlers.fire_due`) through the due-time index (`store.DueIndex`), so a check reads only the due buckets.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, cast

import faust
import structlog
from faust.types import TP, EventT

from services.sla_monitor.app import build_streams
from services.sla_monitor.core import (
    _CONTROL_PREFIX,
    LONG_GAP_BUCKETS,
    RECOMPUTE,
    TICK,
    Metrics,
    SlaCore,
)
from services.sla_monitor.store import DueIndex
from shared.events import Event, Payload, Topic
from shared.streams import as_current_event, run_stream_app

log = structlog.get_logger(__name__)

__all__ = ["LONG_GAP_BUCKETS", "RECOMPUTE", "TICK", "Metrics", "SlaMonitor"]


class SlaMonitor(SlaCore):
    """The Faust engine: the app and its tables; `track_sla_clocks` is the one agent, fed by tickets and ticks."""

    def _open(self, datadir: str) -> None:
        settings = self.settings
        streams = build_streams(settings, self.kafka_bootstrap, partitions=self.partitions, datadir=datadir)
        self.app = streams.app
        self.timers_by_ticket = streams.timers_by_ticket
        self.due_index = streams.due_index
        self.partition_state = streams.partition_state
        self.source, self.ticks, self.out, self.deadletters = (
            streams.source,
            streams.ticks,
            streams.out,
            streams.deadletters,
        )
        self.index = DueIndex(self.due_index, self.partition_state, settings.bucket_seconds, self._open_timers_saved)
        self.agent = self.app.agent(self.source, name="track_sla_clocks")(self._track_sla_clocks)
        self.app.timer(settings.tick_interval, name="tick_owned_partitions")(self._tick_owned_partitions)

    # ------------------------------------------------------------------ the agent

    async def _track_sla_clocks(self, stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        # batches: each ticket's timers, the due index and the partition state written once per batch (issue 20)
        batches = cast(Any, stream).take_events(self.settings.batch_max, within=self.settings.batch_within)
        async for events in batches:
            await self.on_batch(events)
            yield None

    async def on_batch(self, events: Sequence[EventT[bytes]]) -> None:
        """Ticket events are gathered per partition; a partition's tick or recompute first applies what it got
        before it (a due check must see every event that came ahead of it), the rest is applied at the end."""
        pending: dict[int, list[tuple[EventT[bytes], Event[Payload]]]] = {}
        for event in events:
            message = event.message
            value: bytes = event.value
            partition = message.partition
            if value == TICK or value == RECOMPUTE:
                await self.apply_ticket_events(partition, pending.pop(partition, []))
                with as_current_event(event):
                    if value == TICK:
                        await self.check_due(partition)
                    else:
                        await self.recompute(partition)
            elif not value.startswith(_CONTROL_PREFIX):
                decoded = await self.decode_ticket_message(partition, message.offset, message.key, value, message.topic)
                if decoded is not None:
                    pending.setdefault(partition, []).append((event, decoded))
        for partition, items in pending.items():
            await self.apply_ticket_events(partition, items)

    async def _tick_owned_partitions(self) -> None:
        # Each worker ticks the partitions it owns: no leader to wait for, and a moved partition is
        # ticked by its new owner at once. A stray tick during a rebalance is harmless: checks are idempotent.
        for tp in self.app.assignor.assigned_actives():
            if tp.topic == self.settings.tick_topic:
                await self.ticks.send(value=TICK, partition=tp.partition)

    # ------------------------------------------------------------------ ticket events

    async def apply_ticket_events(self, partition: int, items: list[tuple[EventT[bytes], Event[Payload]]]) -> None:
        """Apply one partition's ticket events inside the stream (its tables and changelogs are the current event's)."""
        if not items:
            return
        with as_current_event(items[-1][0]):
            await self.apply_decoded(partition, [event for _, event in items])

    async def _dead_letter(self, key: bytes | None, value: bytes) -> None:
        await self.deadletters.send(key=key, value=value)

    # ------------------------------------------------------------------ due checks

    def _highwater(self, partition: int) -> int | None:
        try:
            highwater: int | None = self.app.consumer.highwater(TP(self.settings.tickets_topic, partition))
        except Exception:  # no consumer yet (test contexts)
            return None
        return highwater

    async def _position(self, partition: int) -> int | None:
        position: int | None = await self.app.consumer.position(TP(self.settings.tickets_topic, partition))
        return position

    async def run(self, stop: asyncio.Event) -> None:
        # its changelogs exist before it subscribes; a crashed agent ends the process (non-zero)
        await run_stream_app(self.app, self.kafka_bootstrap, stop)

    async def ready(self) -> bool:
        return await self.app.ready()

    async def _send_to_topic(self, topic: Topic, key: bytes, value: bytes) -> None:
        await self.out[topic].send(key=key, value=value)

    async def request_recompute(self) -> int:
        """Ask every partition's owner to recompute (one control message per partition, inside the stream)."""
        for partition in range(self.partitions):
            await self.ticks.send(value=RECOMPUTE, partition=partition)
        return self.partitions

    # ------------------------------------------------------------------ reads (outside the stream)

    def owned_partitions(self) -> list[int]:
        try:
            actives: Iterable[TP] = self.app.assignor.assigned_actives()
        except Exception:
            return list(range(self.partitions))
        owned = sorted({tp.partition for tp in actives if tp.topic == self.settings.tick_topic})
        # before the first assignment (and in test contexts) the local tables are all there is
        return owned or list(range(self.partitions))
