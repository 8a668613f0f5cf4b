"""Dispatch against the real broker and server: a service on a fresh database, its own topics, a worker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer

from services.dispatch.bootstrap import DispatchService, build
from services.dispatch.settings import DispatchSettings
from services.dispatch.worker import DispatchWorker
from shared.bus import make_producer
from shared.events import Event, Payload, decode, encode, message_key
from shared.runtime import ServiceSettings


async def make_service(
    database_url: str, bootstrap: str, tickets: str, notifications: str, state_dir: Path, **kw: Any
) -> DispatchService:
    service = build(
        ServiceSettings(kafka_bootstrap=bootstrap, state_dir=state_dir),
        DispatchSettings(
            topic_tickets=tickets,
            topic_notifications=notifications,
            consumer_group=f"hotline-dispatch-test-{uuid.uuid4().hex[:8]}",
            attachments_dir=state_dir / "attachments",
        ),
        database_url=database_url,
        **kw,
    )
    await service.prepare()  # the Alembic migrations, on PostgreSQL
    return service


@asynccontextmanager
async def worker(
    service: DispatchService,
    *,
    handler: Callable[..., DispatchWorker] | None = None,
    max_batch: int = 500,
    retry_delay: float = 0.5,
) -> AsyncIterator[tuple[list[asyncio.Task[None]], asyncio.Event]]:
    """Consumer and outbox relay of one worker process, until the block ends (or the consumer dies)."""
    producer = make_producer(service.settings.kafka_bootstrap, f"dispatch-test-{uuid.uuid4().hex[:6]}")
    await producer.start()
    relay = service.relay(producer)
    custom = handler(service.sessions, service.ctx, relay) if handler is not None else None
    consumer = service.consumer(producer, relay, worker=custom, max_batch=max_batch, retry_delay=retry_delay)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(consumer.run(stop)), asyncio.create_task(relay.run(stop))]
    try:
        yield tasks, consumer.ready
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await producer.stop()


async def publish(bootstrap: str, topic: str, events: Sequence[Event[Any]]) -> None:
    producer = make_producer(bootstrap, "dispatch-test-intake")
    await producer.start()
    try:
        for event in events:
            await producer.send(topic, encode(event), key=message_key(event))
        await producer.flush()
    finally:
        await producer.stop()


async def read_until(
    bootstrap: str,
    topic: str,
    done: Callable[[list[tuple[Any, Event[Payload]]]], bool],
    wait_seconds: float = 60,
    linger: float = 1.0,
) -> list[tuple[Any, Event[Payload]]]:
    """(record, event) pairs from the start of `topic` until `done` says so, plus a moment for any duplicate."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    got: list[tuple[Any, Event[Payload]]] = []
    try:
        async with asyncio.timeout(wait_seconds):
            while not done(got):
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    got.extend((record, decode(record.value)) for record in batch)
        end = asyncio.get_running_loop().time() + linger
        while asyncio.get_running_loop().time() < end:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                got.extend((record, decode(record.value)) for record in batch)
    finally:
        await consumer.stop()
    return got


def count(events: list[tuple[Any, Event[Payload]]], event_type: str) -> int:
    return sum(1 for _, e in events if e.type == event_type)
