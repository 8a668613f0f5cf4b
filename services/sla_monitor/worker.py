"""The SLA worker: ticket events and co-partitioned ticks in (the Faust app of `app`), SLA events out.

Each ticket event moves its clocks (`handlers.apply_event`); each tick fires what fell due in the partition
(`handlers.fire_due`) through the due-time index (`store.DueIndex`), so a check reads only the due buckets.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import faust
import structlog
from faust.types import TP, EventT
from prometheus_client import REGISTRY, CollectorRegistry, Gauge, Histogram

from services.sla_monitor.app import build_streams
from services.sla_monitor.batch import apply_batch, open_count
from services.sla_monitor.handlers import Announcement, fire_due, recompute_deadlines, view_of
from services.sla_monitor.settings import SERVICE, MonitorSettings
from services.sla_monitor.store import DueIndex, TicketTimers, bucket_of
from shared.branch_config import BranchPolicies
from shared.bus import DEAD_LETTERED, LAG, count_dead_letters_of
from shared.clock import Clock
from shared.events import (
    Event,
    EventDecodeError,
    Payload,
    SlaDeadlineMoved,
    TicketPayload,
    Topic,
    dead_letter_for,
    decode,
    encode,
    encode_dead_letter,
    message_key,
    new_event,
)
from shared.streams import as_current_event

log = structlog.get_logger(__name__)

TICK = b'{"tick":"due"}'
RECOMPUTE = b'{"tick":"recompute"}'
_CONTROL_PREFIX = b'{"tick"'
LONG_GAP_BUCKETS = 3_600  # a due check further behind than this looks up the used buckets instead of walking each


@dataclass
class Metrics:
    """What ops watch: open timers, due-check duration, detection lag, consumer lag."""

    open_timers: Gauge
    due_check_seconds: Histogram
    detection_lag_seconds: Histogram
    consumer_lag: Gauge
    announcements: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry = REGISTRY) -> Metrics:
        def existing(name: str) -> Any:
            return registry._names_to_collectors.get(name)  # one set per process, reused by tests

        open_timers = existing("hotline_sla_open_timers") or Gauge(
            "hotline_sla_open_timers", "running SLA clocks held by this worker", ["partition"], registry=registry
        )
        due = existing("hotline_sla_due_check_seconds") or Histogram(
            "hotline_sla_due_check_seconds",
            "time spent on one partition's due check",
            buckets=(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=registry,
        )
        lag = existing("hotline_sla_detection_lag_seconds") or Histogram(
            "hotline_sla_detection_lag_seconds",
            "from the instant an announcement fell due to its production",
            ["kind"],
            buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1, 2, 5, 10, 30, 60, 300),
            registry=registry,
        )
        consumer_lag = existing("hotline_sla_consumer_lag") or Gauge(
            "hotline_sla_consumer_lag", "hotline.tickets messages not yet processed", ["partition"], registry=registry
        )
        said = existing("hotline_sla_announcements") or Gauge(
            "hotline_sla_announcements", "SLA events produced since start", ["kind"], registry=registry
        )
        return cls(open_timers, due, lag, consumer_lag, said)


Publish = Callable[[Topic, bytes, bytes], Awaitable[None]]
"""Sends one SLA event (topic, key, value); the Faust topics in production, a list in unit tests."""


class SlaMonitor:
    """The Faust app and its tables; `track_sla_clocks` is the one agent, fed by tickets and ticks."""

    def __init__(
        self,
        settings: MonitorSettings,
        kafka_bootstrap: str,
        clock: Clock,
        policies: BranchPolicies,
        *,
        partitions: int,
        datadir: str,
        metrics: Metrics | None = None,
        publish: Publish | None = None,
    ) -> None:
        self.settings = settings
        self.kafka_bootstrap = kafka_bootstrap  # for the readiness probe
        self.clock = clock
        self.policies = policies
        self.partitions = partitions
        self.metrics = metrics or Metrics.create()
        self._lag: dict[int, int] = {}
        count_dead_letters_of(SERVICE)
        streams = build_streams(settings, kafka_bootstrap, partitions=partitions, datadir=datadir)
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
        self.publish: Publish = publish or self._send_to_topic
        # per partition: the last hotline.tickets offset processed and the latest event instant seen
        self._last_offset: dict[int, int] = {}
        self._watermark: dict[int, float] = {}
        self.started_at = time.monotonic()

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

    async def decode_ticket_message(
        self, partition: int, offset: int, key: bytes | None, value: bytes, topic: str
    ) -> Event[Payload] | None:
        """The ticket lifecycle event in a message (None: nothing to time; undecodable: dead-lettered)."""
        self._last_offset[partition] = offset
        try:
            event = decode(value)
        except EventDecodeError as error:
            record = dead_letter_for(
                value,
                error,
                source_topic=topic,
                consumer=self.settings.app_id,
                failed_at=self.clock.now(),
                key=key,
                partition=partition,
                offset=offset,
            )
            log.warning("event_dead_lettered", reason=record.reason, partition=partition, offset=offset)
            DEAD_LETTERED.labels(SERVICE, record.reason.value).inc()
            await self.deadletters.send(key=record.message_key, value=encode_dead_letter(record))
            return None
        if not isinstance(event.payload, TicketPayload) or event.ticket_id is None:
            return None  # not a ticket lifecycle event: nothing to time
        seen = event.occurred_at.timestamp()
        if seen > self._watermark.get(partition, 0.0):
            self._watermark[partition] = seen
        return event

    async def apply_ticket_events(self, partition: int, items: list[tuple[EventT[bytes], Event[Payload]]]) -> None:
        """Apply one partition's ticket events (in their order): each ticket and due bucket written once."""
        if not items:
            return
        with as_current_event(items[-1][0]):  # the partition's tables and changelogs
            touched = apply_batch(
                ((partition, event) for _, event in items), self.ticket, lambda branch: view_of(self.policies, branch)
            )
            if not touched:
                return
            state = self.index.state(partition)
            fresh = state["cursor"] is None
            if fresh:
                # the partition's first timer: checks start from now, and anything already overdue goes in the next
                state["cursor"] = bucket_of(self.clock.now().timestamp(), self.settings.bucket_seconds) - 1
            self.index.reindex_all([entry.ticket for entry in touched.values()], partition, state["cursor"])
            delta = 0
            for ticket_id, entry in touched.items():
                self.timers_by_ticket[ticket_id.encode()] = entry.ticket.to_bytes()
                delta += open_count(entry.ticket) - entry.opened_before
            if delta or fresh:
                state["open"] += delta
                self.index.save_state(partition, state)

    # ------------------------------------------------------------------ due checks

    async def check_due(self, partition: int) -> int:
        """Fire what fell due in this partition since the last check; returns the announcements made."""
        started = time.perf_counter()
        now = self.clock.now()
        now_epoch = now.timestamp()
        width = self.settings.bucket_seconds
        current = bucket_of(now_epoch, width)
        state = self.index.state(partition)
        cursor = state["cursor"] if state["cursor"] is not None else current - 1
        allowed_until = await self._safe_horizon(partition, now_epoch)
        made = 0
        carried: list[str] = []  # to look at again in the current bucket: deferred, or due again this second
        open_delta = 0
        buckets: Iterable[int] = range(cursor + 1, current + 1)
        if current - cursor > LONG_GAP_BUCKETS:
            # after downtime or a clock jump: visit the buckets that hold tickets, not every second of the gap
            buckets = self.index.buckets_in_use(partition, cursor, current)
        for bucket in buckets:
            listed = self.index.ids(partition, bucket)
            if not listed:
                continue
            keep: list[str] = []
            for ticket_id in listed:
                raw = self.timers_by_ticket.get(ticket_id.encode())
                if raw is None:
                    continue
                ticket = TicketTimers.from_bytes(raw)
                if ticket.indexed_bucket != bucket:
                    continue  # listed again elsewhere since: this entry is stale
                due = ticket.next_due()
                if due is None:
                    continue
                if due > now_epoch:
                    keep.append(ticket_id)  # later in this same second
                    continue
                if due <= allowed_until:
                    opened = open_count(ticket)
                    announcements = fire_due(ticket, now, view_of(self.policies, ticket.branch))
                    for announcement in announcements:
                        await self._announce(announcement, now_epoch)
                    made += len(announcements)
                    open_delta += open_count(ticket) - opened
                # else: an event that stops the clock may still wait in the backlog: look again next tick
                following = ticket.next_due()
                if following is not None and bucket_of(following, width) <= current:
                    ticket.indexed_bucket = current
                    carried.append(ticket_id)
                else:
                    ticket.indexed_bucket = None
                    self.index.reindex(ticket, partition, current)
                self.timers_by_ticket[ticket.ticket_id.encode()] = ticket.to_bytes()
            if bucket < current:
                self.index.write(partition, bucket, [])
            elif keep:
                self.index.write(partition, bucket, keep)
        if carried:
            self.index.write(partition, current, self.index.ids(partition, current) + carried)
        if state["cursor"] != current - 1 or open_delta:
            state["cursor"] = current - 1
            state["open"] += open_delta
            self.index.save_state(partition, state)
        self.metrics.due_check_seconds.observe(time.perf_counter() - started)
        return made

    async def _safe_horizon(self, partition: int, now_epoch: float) -> float:
        """Until when due timers may fire: now when caught up with hotline.tickets, else the latest event seen.

        A backlog may hold the event that stopped a clock in time; firing past it would report a false breach.
        """
        tp = TP(self.settings.tickets_topic, partition)
        try:
            highwater = self.app.consumer.highwater(tp)
        except Exception:  # no consumer yet (test contexts) or no fetch so far: nothing is known to be pending
            return now_epoch
        if highwater is None or highwater < 0:
            return now_epoch
        last = self._last_offset.get(partition)
        if last is None:
            position = await self.app.consumer.position(tp)
            pending = 0 if position is None else highwater - position
        else:
            pending = highwater - (last + 1)
        self.metrics.consumer_lag.labels(str(partition)).set(max(0, pending))
        self._lag[partition] = max(0, pending)
        # the lag every consumer reports under one name (shared.bus), over the partitions this worker owns
        owned = set(self.owned_partitions())
        LAG.labels(SERVICE).set(sum(lag for p, lag in self._lag.items() if p in owned))
        if pending <= 0:
            return now_epoch
        return self._watermark.get(partition, 0.0)

    async def _announce(self, announcement: Announcement, now_epoch: float) -> None:
        event = announcement.event
        await self.publish(event.topic, message_key(event), encode(event))
        self.metrics.detection_lag_seconds.labels(announcement.kind).observe(max(0.0, now_epoch - announcement.due))
        self.metrics.announcements.labels(announcement.kind).inc()

    # ------------------------------------------------------------------ calendar changes

    async def recompute(self, partition: int) -> int:
        """RULES.md §3: after a calendar or branch-file change, move the working-day deadlines of open timers.

        A rare admin action, so it walks this partition's open tickets; each moved deadline is re-announced
        as an SlaDeadlineMoved carrying the new deadline (flagged provisional or not).
        """
        self.policies.reload()
        now = self.clock.now()
        moved_count = 0
        state = self.index.state(partition)
        for raw in list(self.timers_by_ticket.values()):
            ticket = TicketTimers.from_bytes(raw)
            if ticket.partition != partition or ticket.closed or not ticket.running():
                continue
            view = view_of(self.policies, ticket.branch)
            moved = recompute_deadlines(ticket, view)
            if not moved:
                continue
            moved_count += len(moved)
            for clock, old, _new in moved:
                timer = ticket.clocks[clock]
                zone = view.branch.timezone
                payload = SlaDeadlineMoved(
                    clock=clock,
                    started_at=datetime.fromtimestamp(timer.start, tz=UTC).astimezone(zone),
                    previous_deadline=datetime.fromtimestamp(old, tz=UTC).astimezone(zone),
                    deadline=datetime.fromtimestamp(timer.deadline, tz=UTC).astimezone(zone),
                    unit_id=ticket.unit_id,
                    division_id=ticket.division_id,
                    provisional=timer.provisional,
                )
                await self._send_payload(ticket, payload, now)
            ticket.indexed_bucket = None
            self.index.reindex(ticket, partition, state["cursor"])
            self.timers_by_ticket[ticket.ticket_id.encode()] = ticket.to_bytes()
        log.info("deadlines_recomputed", partition=partition, moved=moved_count, years=self.policies.calendar.years)
        return moved_count

    async def _send_payload(self, ticket: TicketTimers, payload: Payload, now: datetime) -> None:
        # a re-announcement is news, not a duplicate: a fresh event id
        event = new_event(
            payload,
            ticket_id=ticket.ticket_id,
            branch=ticket.branch,
            producer=SERVICE,
            correlation_id=ticket.ticket_id,
            occurred_at=now,
        )
        await self.publish(event.topic, message_key(event), encode(event))

    async def _send_to_topic(self, topic: Topic, key: bytes, value: bytes) -> None:
        await self.out[topic].send(key=key, value=value)

    async def request_recompute(self) -> int:
        """Ask every partition's owner to recompute (one control message per partition, inside the stream)."""
        for partition in range(self.partitions):
            await self.ticks.send(value=RECOMPUTE, partition=partition)
        return self.partitions

    def _open_timers_saved(self, partition: int, open_timers: int) -> None:
        self.metrics.open_timers.labels(str(partition)).set(open_timers)

    # ------------------------------------------------------------------ reads (outside the stream)

    def owned_partitions(self) -> list[int]:
        try:
            actives: Iterable[TP] = self.app.assignor.assigned_actives()
        except Exception:
            return list(range(self.partitions))
        owned = sorted({tp.partition for tp in actives if tp.topic == self.settings.tick_topic})
        # before the first assignment (and in test contexts) the local tables are all there is
        return owned or list(range(self.partitions))

    def ticket(self, ticket_id: str) -> TicketTimers | None:
        raw = self.timers_by_ticket.get(ticket_id.encode())
        return TicketTimers.from_bytes(raw) if raw is not None else None

    def due_within(self, minutes: int) -> list[TicketTimers]:
        """Open tickets with a deadline in the next `minutes` (walks the due index, never every timer)."""
        now = self.clock.now().timestamp()
        end = now + timedelta(minutes=minutes).total_seconds()
        width = self.settings.bucket_seconds
        found: dict[str, TicketTimers] = {}
        for partition in self.owned_partitions():
            state = self.index.state(partition)
            first = state["cursor"] + 1 if state["cursor"] is not None else bucket_of(now, width)
            for bucket in range(first, bucket_of(end, width) + 1):
                for ticket_id in self.index.ids(partition, bucket):
                    ticket = self.ticket(ticket_id)
                    if ticket is not None and ticket.indexed_bucket == bucket:
                        found[ticket_id] = ticket
        return list(found.values())

    def counts(self) -> dict[str, Any]:
        now = self.clock.now().timestamp()
        width = self.settings.bucket_seconds
        partitions = []
        for partition in self.owned_partitions():
            state = self.index.state(partition)
            behind = None if state["cursor"] is None else max(0.0, now - (state["cursor"] + 1) * width)
            lag = self._consumer_lag(partition)
            partitions.append(
                {"partition": partition, "open_timers": state["open"], "check_behind_seconds": behind, "lag": lag}
            )
        return {
            "open_timers": sum(p["open_timers"] for p in partitions),
            "consumer_lag": sum(p["lag"] or 0 for p in partitions),
            "partitions": partitions,
        }

    def _consumer_lag(self, partition: int) -> int | None:
        tp = TP(self.settings.tickets_topic, partition)
        try:
            highwater = self.app.consumer.highwater(tp)
        except Exception:
            return None
        last = self._last_offset.get(partition)
        if highwater is None or highwater < 0 or last is None:
            return None
        return max(0, highwater - (last + 1))
