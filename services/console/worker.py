"""The console's consumer: hotline.tickets, .sla, .notifications and .cti.calls into the hub of open browser streams.

A consumer group of its own per console instance (every instance must see every event for its own browsers),
reading from the end: a browser that (re)connects loads the current state over the APIs, then hears what follows.
Nothing is written anywhere, so redelivery is harmless; an event id seen lately is pushed only once.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence

import structlog
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry, Counter, Gauge

from services.console.live import Hub
from shared.events import EventDecodeError, decode

log = structlog.get_logger(__name__)


class ConsoleMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.events = Counter("console_events_total", "Events read from the topics", ["type"], registry=registry)
        self.undecodable = Counter("console_events_undecodable_total", "Messages not decoded", registry=registry)
        self.pushes = Counter("console_pushes_total", "Server-sent events queued to browsers", registry=registry)
        self.streams = Gauge("console_open_streams", "Open server-sent event streams", registry=registry)


class LiveConsumer:
    """Reads the four topics and publishes each event to the hub."""

    def __init__(self, bootstrap: str, topics: Sequence[str], group_id: str, hub: Hub, metrics: ConsoleMetrics) -> None:
        self.bootstrap = bootstrap
        self.topics = list(topics)
        self.group_id = group_id
        self.hub = hub
        self.metrics = metrics
        self.assigned = asyncio.Event()
        self._seen: OrderedDict[str, None] = OrderedDict()

    def ready(self) -> bool:
        return self.assigned.is_set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            consumer = AIOKafkaConsumer(
                *self.topics,
                bootstrap_servers=self.bootstrap,
                group_id=self.group_id,
                auto_offset_reset="latest",
                enable_auto_commit=True,
                metadata_max_age_ms=5_000,
            )
            try:
                await consumer.start()
                await self._consume(consumer, stop)
            except KafkaError:
                log.warning("console_consumer_error", exc_info=True)
                await asyncio.sleep(1.0)
            finally:
                await consumer.stop()

    async def _consume(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=200, max_records=500)
            if consumer.assignment():
                self.assigned.set()
            for records in batches.values():
                for record in records:
                    self.handle(record.value or b"")

    def handle(self, data: bytes) -> None:
        try:
            event = decode(data)
        except EventDecodeError:
            self.metrics.undecodable.inc()
            return
        key = str(event.event_id)
        if key in self._seen:
            return
        self._seen[key] = None
        while len(self._seen) > 50_000:
            self._seen.popitem(last=False)
        self.metrics.events.labels(event.type).inc()
        self.metrics.pushes.inc(self.hub.publish(event))
