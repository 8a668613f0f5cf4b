"""The service kit against real servers: outbox on PostgreSQL relayed to Kafka, consumer group semantics."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.bus import ConsumerSettings, EventConsumer, make_producer
from shared.clock import SystemClock
from shared.db import create_schema, make_engine, make_sessions, transaction
from shared.events import (
    DeadLetterReason,
    Event,
    Payload,
    TicketAccepted,
    Topic,
    decode,
    decode_dead_letter,
    encode,
    new_event,
)
from shared.inbox import unseen
from shared.outbox import OutboxRelay, stage
from tests.conftest import TopicFactory
from tests.kit_models import KitBase, KitInbox, KitOutbox

pytestmark = pytest.mark.integration


def accepted(ticket: str, handler: str = "h1") -> Event[Any]:
    return new_event(
        TicketAccepted(unit_id="U1", handler_id=handler),
        ticket_id=ticket,
        branch="GX",
        producer="test",
        correlation_id=str(uuid.uuid4()),
        occurred_at=datetime.now(UTC),
    )


@pytest.fixture
async def sessions(fresh_database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(fresh_database_url)
    await create_schema(engine, KitBase.metadata)
    yield make_sessions(engine)
    await engine.dispose()


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = make_producer(kafka_bootstrap, "kit-test")
    await producer.start()
    yield producer
    await producer.stop()


async def read_all(bootstrap: str, topic: str, expected: int, wait_seconds: float = 20) -> list[Any]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    got: list[Any] = []
    try:
        async with asyncio.timeout(wait_seconds):
            while len(got) < expected:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    got.extend(batch)
        # anything beyond what was expected would be a duplicate: look a moment longer
        for batch in (await consumer.getmany(timeout_ms=500)).values():
            got.extend(batch)
    finally:
        await consumer.stop()
    return got


class RetargetedSender:
    """Sends to the test's own topic, so parallel runs never share hotline.tickets."""

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self.producer, self.topic = producer, topic

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None) -> Any:
        return await self.producer.send(self.topic, value=value, key=key)


class CrashAfterSend(OutboxRelay):
    """The relay dies after Kafka acknowledged the batch and before the rows are marked sent."""

    crash = True

    async def relay_once(self) -> int:
        if not self.crash:
            return await super().relay_once()
        original = self._producer.send

        async def send_then_crash(topic: str, value: bytes | None = None, key: bytes | None = None) -> Any:
            future = await original(topic, value=value, key=key)
            await future
            raise SystemExit("killed between send and commit")

        self._producer.send = send_then_crash  # type: ignore[method-assign]
        try:
            return await super().relay_once()
        finally:
            self._producer.send = original  # type: ignore[method-assign]


async def test_relay_publishes_committed_events_keyed_by_ticket_in_order(
    sessions: async_sessionmaker[AsyncSession],
    producer: AIOKafkaProducer,
    kafka_bootstrap: str,
    new_topic: TopicFactory,
) -> None:
    topic = await new_topic(partitions=3)
    clock = SystemClock()
    events = [accepted("T-A", f"h{i}") for i in range(5)] + [accepted("T-B", f"h{i}") for i in range(5)]
    async with transaction(sessions) as session:
        stage(session, KitOutbox, events, clock)
    relay = OutboxRelay("kit", sessions, KitOutbox, RetargetedSender(producer, topic), clock)
    assert await relay.relay_once() == 10
    records = await read_all(kafka_bootstrap, topic, 10)
    assert len(records) == 10
    by_ticket: dict[bytes, list[Any]] = {}
    for record in records:
        by_ticket.setdefault(record.key, []).append(record)
    assert {k: len({r.partition for r in v}) for k, v in by_ticket.items()} == {b"T-A": 1, b"T-B": 1}
    for ticket, sent in ((b"T-A", events[:5]), (b"T-B", events[5:])):
        got = sorted(by_ticket[ticket], key=lambda r: r.offset)
        assert [decode(r.value).event_id for r in got] == [e.event_id for e in sent]


async def test_crash_between_send_and_mark_duplicates_nothing_a_consumer_acts_on(
    sessions: async_sessionmaker[AsyncSession],
    producer: AIOKafkaProducer,
    kafka_bootstrap: str,
    new_topic: TopicFactory,
) -> None:
    topic = await new_topic(partitions=1)
    clock = SystemClock()
    event = accepted("T-crash")
    async with transaction(sessions) as session:
        stage(session, KitOutbox, [event], clock)
    relay = CrashAfterSend("kit", sessions, KitOutbox, RetargetedSender(producer, topic), clock)
    with pytest.raises(SystemExit):
        await relay.relay_once()
    assert await relay.pending() == 1  # the mark never committed
    relay.crash = False
    assert await relay.relay_once() == 1  # sent again after the "restart"
    records = await read_all(kafka_bootstrap, topic, 2)
    assert [decode(r.value).event_id for r in records] == [event.event_id, event.event_id]
    # the consumer side acts once
    acted = 0
    for record in records:
        async with transaction(sessions) as session:
            fresh = await unseen(session, KitInbox, [(decode(record.value).event_id, "TicketAccepted")], clock.now())
            acted += len(fresh)
    assert acted == 1


async def test_consumer_commits_after_handling_and_dead_letters_what_it_cannot_use(
    producer: AIOKafkaProducer, kafka_bootstrap: str, new_topic: TopicFactory
) -> None:
    topic = await new_topic(partitions=2)
    poison_ticket = f"T-poison-{uuid.uuid4().hex[:6]}"
    good = [accepted(f"T-good-{i}") for i in range(6)]
    poison = accepted(poison_ticket)
    for event in good[:3]:
        await producer.send_and_wait(topic, encode(event), key=event.key.encode())
    await producer.send_and_wait(topic, b"{not json", key=b"T-garbage")
    await producer.send_and_wait(topic, encode(poison), key=poison.key.encode())
    for event in good[3:]:
        await producer.send_and_wait(topic, encode(event), key=event.key.encode())

    handled: list[uuid.UUID] = []

    async def handler(batch: Sequence[Event[Payload]]) -> None:
        if any(e.ticket_id == poison_ticket for e in batch):
            raise ValueError("this ticket's handler always fails")
        handled.extend(e.event_id for e in batch)

    group = f"kit-{uuid.uuid4().hex[:8]}"
    settings = ConsumerSettings(kafka_bootstrap, group, [topic], "kit-consumer", attempts=2, retry_delay=0.05)

    async def consume_until(count: int) -> None:
        stop = asyncio.Event()
        consumer = EventConsumer("kit", settings, handler, producer, SystemClock())
        task = asyncio.create_task(consumer.run(stop))
        async with asyncio.timeout(40):
            while len(handled) < count:
                await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        stop.set()
        await task

    await consume_until(6)
    assert sorted(handled) == sorted(e.event_id for e in good)

    letters = [decode_dead_letter(r.value) for r in await read_all(kafka_bootstrap, str(Topic.DEADLETTER), 2)]
    mine = [d for d in letters if d.source_topic == topic]
    assert {d.reason for d in mine} == {DeadLetterReason.MALFORMED, DeadLetterReason.HANDLER_FAILED}
    assert any(d.original == encode(poison) and d.message_key == poison_ticket.encode() for d in mine)

    # offsets were committed: the same group starting again gets nothing already handled
    handled.clear()
    extra = accepted("T-after-restart")
    await producer.send_and_wait(topic, encode(extra), key=extra.key.encode())
    await consume_until(1)
    assert handled == [extra.event_id]


async def test_a_commit_wakes_the_relay_at_once_on_postgresql_without_its_poll(
    sessions: async_sessionmaker[AsyncSession],
    producer: AIOKafkaProducer,
    kafka_bootstrap: str,
    new_topic: TopicFactory,
) -> None:
    topic = await new_topic(partitions=1)
    clock = SystemClock()
    # a poll of 60 s: only the commit's NOTIFY can bring the row out within the test's few seconds
    relay = OutboxRelay("kit", sessions, KitOutbox, RetargetedSender(producer, topic), clock, poll_interval=60)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        async with asyncio.timeout(20):
            while not relay.listening:
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # the relay's first batch (nothing) is done: it waits on its 60 s poll now

        async def fail_after_staging() -> None:
            async with transaction(sessions) as session:
                stage(session, KitOutbox, [accepted("T-rolled-back")], clock)
                await session.flush()
                raise RuntimeError("the request failed")

        with pytest.raises(RuntimeError):
            await fail_after_staging()
        event = accepted("T-woken")
        committed_at = asyncio.get_running_loop().time()
        async with transaction(sessions) as session:
            stage(session, KitOutbox, [event], clock)
        records = await read_all(kafka_bootstrap, topic, 1, wait_seconds=10)
        assert [decode(r.value).event_id for r in records] == [event.event_id]  # the rolled-back one never left
        assert asyncio.get_running_loop().time() - committed_at < 10
    finally:
        stop.set()
        await running


async def test_events_arriving_one_by_one_are_handled_in_few_batches_each_ticket_in_order(
    producer: AIOKafkaProducer, kafka_bootstrap: str, new_topic: TopicFactory
) -> None:
    topic = await new_topic(partitions=2)
    batches: list[list[Event[Payload]]] = []

    async def handler(batch: Sequence[Event[Payload]]) -> None:
        batches.append(list(batch))

    group = f"kit-{uuid.uuid4().hex[:8]}"
    settings = ConsumerSettings(kafka_bootstrap, group, [topic], "kit-consumer", linger=1.0)
    consumer = EventConsumer("kit", settings, handler, producer, SystemClock())
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    async with asyncio.timeout(30):
        await consumer.ready.wait()
    sent = [accepted(f"T-linger-{i % 3}", handler=f"h{i}") for i in range(20)]
    for event in sent:  # one at a time, as an outbox relay under a light load sends them
        await producer.send_and_wait(topic, encode(event), key=event.key.encode())
    async with asyncio.timeout(30):
        while sum(len(b) for b in batches) < len(sent):
            await asyncio.sleep(0.05)
    stop.set()
    await task
    assert len(batches) <= 4, [len(b) for b in batches]  # not one transaction and one offset commit per event
    handled = [e for b in batches for e in b]
    for ticket in {e.ticket_id for e in sent}:
        assert [e.event_id for e in handled if e.ticket_id == ticket] == [
            e.event_id for e in sent if e.ticket_id == ticket
        ]
