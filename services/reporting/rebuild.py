"""Rebuild the reporting store from the beginning of the topics into a fresh database (`hotline reporting rebuild`).

The topics keep every ticket's history (retention -1, hotline/topics.py), and the store is a function of
them: each partition is read from its first offset to the end it had when the rebuild started, every
event applied through the same handler as the live consumer (inbox, read model, hot spots), in batches.
Events a hot spot emits are staged in the new store's outbox with their deterministic ids, so a store
put live after a rebuild sends nothing a consumer would act on twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import func, select

from services.reporting.bootstrap import ReportingService, migrate
from services.reporting.store import ReportTicket
from services.reporting.worker import ReportingEventsHandler
from shared.events import Event, EventDecodeError, Payload, decode

Progress = Callable[[int, int], None]  # (events read, events to read)


class NotAFreshStore(RuntimeError):
    """The target database already holds a read model: a rebuild never writes over one."""


@dataclass(frozen=True)
class RebuildResult:
    events: int
    undecodable: int
    tickets: int
    seconds: float


async def _partitions(bootstrap: str, topics: Sequence[str]) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        present = set(await admin.list_topics())
        missing = [t for t in topics if t not in present]
        if missing:
            raise RuntimeError(f"topic {missing[0]} does not exist")
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    return sorted(TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"])


async def rebuild(
    service: ReportingService, topics: Sequence[str], *, progress: Progress | None = None, batch: int = 2000
) -> RebuildResult:
    """Read `topics` from their beginning into the service's (fresh, migrated here) database."""
    await asyncio.to_thread(migrate, service.database_url)
    async with service.sessions() as session:
        if await session.scalar(select(func.count()).select_from(ReportTicket)):
            raise NotAFreshStore(f"{service.database_url.split('@')[-1]} already holds a reporting store")
    handler = ReportingEventsHandler(service.sessions, service.clock, service.hot_spot_rules)
    loop = asyncio.get_running_loop()
    started = loop.time()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=service.settings.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=batch,
    )
    await consumer.start()
    events = undecodable = 0
    try:
        partitions = await _partitions(service.settings.kafka_bootstrap, topics)
        consumer.assign(partitions)
        first = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)  # what the rebuild reads: the topics as they are now
        total = sum(ends[p] - first[p] for p in partitions)
        for partition in partitions:
            consumer.seek(partition, first[partition])
        left = {p for p in partitions if ends[p] > first[p]}
        if progress is not None:
            progress(0, total)
        while left:
            fetched = await consumer.getmany(*left, timeout_ms=500, max_records=batch)
            decoded: list[Event[Payload]] = []
            for partition, records in fetched.items():
                for record in records:
                    if record.offset >= ends[partition]:
                        continue
                    events += 1
                    try:
                        decoded.append(decode(record.value or b""))
                    except EventDecodeError:
                        undecodable += 1  # the live consumer dead-lettered it too
                if await consumer.position(partition) >= ends[partition]:
                    left.discard(partition)
            if decoded:
                await handler(decoded)
            if progress is not None:
                progress(events, total)
    finally:
        await consumer.stop()
    async with service.sessions() as session:
        tickets = int(await session.scalar(select(func.count()).select_from(ReportTicket)) or 0)
    return RebuildResult(events, undecodable, tickets, loop.time() - started)
