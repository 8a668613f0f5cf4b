"""Kafka plumbing: the idempotent producer, and a consumer loop that decodes, retries and dead-letters."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaClient, AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord
from prometheus_client import Counter, Gauge, Histogram

from shared.clock import Clock
from shared.db import is_transient
from shared.events import (
    DeadLetterReason,
    Event,
    EventDecodeError,
    Payload,
    Topic,
    dead_letter_for,
    decode,
    encode_dead_letter,
)

log = structlog.get_logger(__name__)

CONSUMED = Counter("hotline_events_consumed_total", "Events handled by a consumer", ["service", "type"])
TRANSIENT_RETRIES = Counter(
    "hotline_events_transient_retries_total", "Tries of an event that failed because the database was away", ["service"]
)
DEAD_LETTERED = Counter("hotline_events_dead_lettered_total", "Messages given up", ["service", "reason"])
BATCH_SECONDS = Histogram("hotline_consumer_batch_seconds", "Time to handle one fetched batch", ["service"])
LAG = Gauge("hotline_consumer_lag", "Messages behind the end of the partitions", ["service"])


def count_dead_letters_of(service: str) -> None:
    """Show `service`'s dead-letter counters from the start, at 0, one per reason (not only after the first)."""
    for reason in DeadLetterReason:
        DEAD_LETTERED.labels(service, reason.value)


Handler = Callable[[Sequence[Event[Payload]]], Awaitable[None]]
# Told about an event the handler gave up on, before it goes to the dead-letter topic, so that
# the service can make it visible to people (dispatch: the center's manual queue).
GivenUpHook = Callable[[Event[Payload], BaseException], Awaitable[None]]


class BrokerProbe:
    """A readiness check: can this process reach the Kafka cluster now (a metadata round trip)?

    One per process, lazily connected, reused by every probe; false while no broker answers
    within `timeout`, true again as soon as one does. Compose it with the process's other
    checks: `readiness={"database": ..., "broker": probe.check, "consumer": consumer.holding_partitions}`.
    """

    def __init__(self, bootstrap: str, timeout: float = 2.0) -> None:
        self._bootstrap = bootstrap
        self._timeout = timeout
        self._client: AIOKafkaClient | None = None

    async def check(self) -> bool:
        try:
            async with asyncio.timeout(self._timeout):
                if self._client is None:
                    client = AIOKafkaClient(
                        bootstrap_servers=self._bootstrap, request_timeout_ms=int(self._timeout * 1000)
                    )
                    await client.bootstrap()
                    self._client = client
                metadata = await self._client.fetch_all_metadata()
            return bool(metadata.brokers())
        except (KafkaError, OSError, TimeoutError) as error:
            log.warning("broker_unreachable", bootstrap=self._bootstrap, error=type(error).__name__)
            return False

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def make_producer(bootstrap: str, client_id: str, **overrides: Any) -> AIOKafkaProducer:
    """An idempotent producer (acks=all): a retried send never duplicates a message on the partition."""
    settings: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "client_id": client_id,
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": 5,
        "request_timeout_ms": 30_000,
    }
    settings.update(overrides)
    return AIOKafkaProducer(**settings)


@dataclass
class ConsumerSettings:
    bootstrap: str
    group_id: str
    topics: Sequence[str]
    client_id: str
    max_batch: int = 500
    attempts: int = 5  # tries of one event before it is dead-lettered
    retry_delay: float = 0.5
    # once records come, more are gathered for this long (up to max_batch) before the batch is handled: under load
    # one transaction, one commit and one offset commit serve many events instead of one or two (issue 24)
    linger: float = 0.05


class EventConsumer:
    """Consumes topics in a consumer group; handles each fetched batch, then commits its offsets.

    Undecodable messages go to the dead-letter topic at once. A failing batch is retried, then
    split into single events; an event that still fails after `attempts` tries is dead-lettered
    with its error so the partition keeps moving, and ops see it in the metrics and logs.
    Offsets are committed only after the handler succeeded: a crash redelivers, and handlers are
    idempotent on `event_id` (shared.inbox).
    """

    def __init__(
        self,
        service: str,
        settings: ConsumerSettings,
        handler: Handler,
        producer: AIOKafkaProducer,
        clock: Clock,
        *,
        on_given_up: GivenUpHook | None = None,
    ):
        self.service = service
        self._on_given_up = on_given_up
        self.settings = settings
        self._handler = handler
        self._producer = producer
        self._clock = clock
        self._consumer: AIOKafkaConsumer | None = None
        self.ready = asyncio.Event()
        count_dead_letters_of(service)

    async def run(self, stop: asyncio.Event) -> None:
        s = self.settings
        consumer = AIOKafkaConsumer(
            *s.topics,
            bootstrap_servers=s.bootstrap,
            group_id=s.group_id,
            client_id=s.client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=s.max_batch,
        )
        self._consumer = consumer
        await consumer.start()
        try:
            while not stop.is_set():
                # returns as soon as records come; the timeout only bounds an idle wake-up (and the stop check)
                fetched = await consumer.getmany(timeout_ms=1000, max_records=s.max_batch)
                if not self.ready.is_set() and consumer.assignment():
                    self.ready.set()
                    await self._record_lag(consumer)
                records = [record for batch in fetched.values() for record in batch]
                if not records:
                    continue
                records += await self._gather_more(consumer, s.max_batch - len(records))
                with BATCH_SECONDS.labels(self.service).time():
                    await self._handle_records(records)
                await consumer.commit()
                await self._record_lag(consumer)
        finally:
            self._consumer = None
            await consumer.stop()

    async def _gather_more(self, consumer: AIOKafkaConsumer, room: int) -> list[ConsumerRecord[bytes, bytes]]:
        """What else arrives within `linger` (each partition's records stay in offset order after the first ones)."""
        more: list[ConsumerRecord[bytes, bytes]] = []
        until = asyncio.get_running_loop().time() + self.settings.linger
        while len(more) < room and (left := until - asyncio.get_running_loop().time()) > 0:
            fetched = await consumer.getmany(timeout_ms=max(1, int(left * 1000)), max_records=room - len(more))
            more += [record for batch in fetched.values() for record in batch]
        return more

    async def holding_partitions(self) -> bool:
        """A readiness check: the consumer runs and holds partitions of its group now."""
        consumer = self._consumer
        return consumer is not None and bool(consumer.assignment())

    async def record_lag(self) -> None:
        """Bring `hotline_consumer_lag` up to date (before a metrics scrape); nothing while not consuming."""
        if self._consumer is not None and self.ready.is_set():
            await self._record_lag(self._consumer)

    async def _record_lag(self, consumer: AIOKafkaConsumer) -> None:
        behind = 0
        for partition in consumer.assignment():
            highwater = consumer.highwater(partition)
            if highwater is not None:
                behind += max(0, highwater - await consumer.position(partition))
        LAG.labels(self.service).set(behind)

    async def _handle_records(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        events: list[tuple[Event[Payload], ConsumerRecord[bytes, bytes]]] = []
        for record in records:
            try:
                events.append((decode(record.value or b""), record))
            except EventDecodeError as error:
                await self._dead_letter(record, error)
        if not events:
            return
        try:
            await self._handler([event for event, _ in events])
        except Exception as error:
            log.warning("batch_failed_retrying_one_by_one", service=self.service, size=len(events), error=str(error))
            for event, record in events:
                await self._handle_one(event, record)
            return
        for event, _ in events:
            CONSUMED.labels(self.service, event.type).inc()

    async def _handle_one(self, event: Event[Payload], record: ConsumerRecord[bytes, bytes]) -> None:
        delay = self.settings.retry_delay
        attempt = 0
        while True:
            try:
                await self._handler([event])
                CONSUMED.labels(self.service, event.type).inc()
                return
            except Exception as error:
                if is_transient(error):
                    # the database is away (a restart, a failover): not the event's fault, so it is never given
                    # up for it; the partition waits, and ops see the retries (a dead letter here lost work, issue 14)
                    TRANSIENT_RETRIES.labels(self.service).inc()
                    log.warning(
                        "event_waits_for_database", service=self.service, event_id=str(event.event_id), error=str(error)
                    )
                elif (attempt := attempt + 1) >= self.settings.attempts:
                    log.error(
                        "event_dead_lettered",
                        service=self.service,
                        event_id=str(event.event_id),
                        type=event.type,
                        ticket_id=event.ticket_id,
                        error=str(error),
                    )
                    await self._surface(event, error)
                    await self._dead_letter(record, error)
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _surface(self, event: Event[Payload], error: BaseException) -> None:
        if self._on_given_up is None:
            return
        try:
            await self._on_given_up(event, error)
        except Exception:
            # the dead letter and its metric still go out: ops are alerted either way
            log.exception("given_up_hook_failed", service=self.service, event_id=str(event.event_id))

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], error: BaseException) -> None:
        letter = dead_letter_for(
            record.value or b"",
            error,
            source_topic=record.topic,
            consumer=self.settings.group_id,
            failed_at=self._clock.now(),
            key=record.key,
            partition=record.partition,
            offset=record.offset,
        )
        DEAD_LETTERED.labels(self.service, letter.reason.value).inc()
        log.warning("message_dead_lettered", service=self.service, topic=record.topic, reason=letter.reason.value)
        await self._producer.send_and_wait(str(Topic.DEADLETTER), encode_dead_letter(letter), key=letter.message_key)
