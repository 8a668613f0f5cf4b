"""The direct SLA engine (HOTLINE_SLA_ENGINE=direct, issue 20): a plain aiokafka consumer instead of Faust.

One loop: `getmany` a batch of hotline.tickets and tick-topic records; per partition, apply its ticket events
(`core.SlaCore.apply_decoded`, i.e. `batch.apply_batch`), then check what fell due, then write the partition's
batch once: the SLA events it owes are awaited first, then the changed rows and the next offset go to the
compacted changelog (one produce per partition per batch), then to the local RocksDB in one `WriteBatch` with the
offsets (`direct_store`); Kafka offsets are committed after that. The due index lives in memory, rebuilt from the
rows each time a partition is assigned (after the changelog was read from this node's last applied offset to its
end: nothing on a kept volume, everything on an empty one). The SLA events are the same as the Faust engine's.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import CommitFailedError, IllegalStateError

from services.sla_monitor.core import _CONTROL_PREFIX, RECOMPUTE, SlaCore
from services.sla_monitor.direct_store import OFFSET_KEY, PartitionStore, PartitionTimers
from services.sla_monitor.settings import MonitorSettings
from services.sla_monitor.store import DueIndex, TicketTimers, bucket_of
from shared import topics as shared_topics
from shared.events import Event, Payload, Topic
from shared.topics import TopicSpec

log = structlog.get_logger(__name__)

REBUILD_CHUNK = 10_000  # changelog rows written to RocksDB per WriteBatch while rebuilding


def changelog_topic(settings: MonitorSettings) -> str:
    return f"{settings.app_id}-direct_timers-changelog"


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, engine: DirectMonitor) -> None:
        self.engine = engine

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self.engine.on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self.engine.on_assigned(assigned)


class DirectMonitor(SlaCore):
    """The SLA monitor on aiokafka and rocksdict; the logic is the core's, the same as the Faust engine's."""

    def _open(self, datadir: str) -> None:
        self.datadir = Path(datadir) / "direct"
        self.timers_by_ticket = PartitionTimers(self.partitions)
        self.timers: PartitionTimers = self.timers_by_ticket
        self.index = DueIndex({}, {}, self.settings.bucket_seconds, self._open_timers_saved)
        self.changelog = changelog_topic(self.settings)
        self.held: set[int] = set()  # hotline.tickets partitions assigned and rebuilt
        self._tick_offsets: dict[int, int] = {}  # tick-topic partition -> next offset to commit
        self._in_flight: list[asyncio.Future[Any]] = []  # SLA events sent, awaited before their rows are written
        self._lock = asyncio.Lock()  # a batch and a rebalance never interleave
        self._assigned = False
        self._rebuilding = False
        self._caught_up: frozenset[int] | None = None
        self._failure: BaseException | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._started = asyncio.Event()

    # ------------------------------------------------------------------ running

    async def prepare_topics(self) -> None:
        spec = TopicSpec(self.partitions, {"cleanup.policy": "compact"}, exact=True)
        await shared_topics.ensure_topics(
            self.kafka_bootstrap, {self.changelog: spec}, replication_factor=self.settings.replication_factor
        )

    async def run(self, stop: asyncio.Event) -> None:
        await self.prepare_topics()
        s = self.settings
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.kafka_bootstrap,
            enable_idempotence=True,  # a retried send is not written twice
            linger_ms=int(s.producer_linger * 1000),
            max_batch_size=s.producer_max_batch_size,
            compression_type=None if s.producer_compression == "none" else s.producer_compression,
        )
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.kafka_bootstrap,
            group_id=s.app_id,
            enable_auto_commit=False,  # committed after the local write
            auto_offset_reset="earliest",
            # co-partitioned: tickets partition p and tick partition p go to the same member
            partition_assignment_strategy=(RangePartitionAssignor,),
            session_timeout_ms=int(s.session_timeout * 1000),
            heartbeat_interval_ms=int(s.heartbeat_interval * 1000),
            rebalance_timeout_ms=int(s.rebalance_timeout * 1000),
            max_partition_fetch_bytes=s.consumer_max_fetch_size,
        )
        await self._producer.start()
        try:
            self._consumer.subscribe([s.tickets_topic, s.tick_topic], listener=_Rebalance(self))
            await self._consumer.start()
            self._started.set()
            try:
                await self._loop(stop)
            finally:
                await self._stop_consumer()
        except BaseException as error:
            self._failure = error
            raise
        finally:
            await self._producer.stop()
            for store in self.timers.stores.values():
                store.close()

    async def _stop_consumer(self) -> None:
        assert self._consumer is not None
        try:
            async with self._lock:
                await self._commit()
        finally:
            await self._consumer.stop()

    async def _loop(self, stop: asyncio.Event) -> None:
        assert self._consumer is not None
        next_check = next_commit = time.monotonic()
        while not stop.is_set():
            wait_ms = max(0, int((next_check - time.monotonic()) * 1000))
            fetched = await self._consumer.getmany(timeout_ms=wait_ms, max_records=self.settings.batch_max)
            async with self._lock:
                await self.on_records(fetched)
                now = time.monotonic()
                if now >= next_check:
                    next_check = now + self.settings.tick_interval
                    for partition in sorted(self.held):
                        await self._in_partition(partition, self.check_due(partition))
                        await self._write_batch(partition)
                if now >= next_commit:
                    next_commit = now + self.settings.commit_interval
                    await self._commit()

    async def on_records(self, fetched: dict[TopicPartition, list[Any]]) -> None:
        """Apply what one `getmany` returned: each partition's ticket events, then its control messages."""
        controls: list[tuple[int, bytes]] = []
        for tp, records in fetched.items():
            if not records:
                continue
            if tp.topic == self.settings.tick_topic:
                self._tick_offsets[tp.partition] = records[-1].offset + 1
                controls.extend((tp.partition, r.value) for r in records if r.value == RECOMPUTE)
                continue
            if tp.partition not in self.held:
                continue  # fetched before a revoke: the new owner reads it
            applied = self.timers.stores[tp.partition].offset() or 0
            events: list[Event[Payload]] = []
            for record in records:
                if record.offset < applied:
                    continue  # already in the rows (fetched before the partition was rebuilt)
                value: bytes = record.value
                if value.startswith(_CONTROL_PREFIX):
                    continue
                decoded = await self.decode_ticket_message(tp.partition, record.offset, record.key, value, tp.topic)
                if decoded is not None:
                    events.append(decoded)
            await self._in_partition(tp.partition, self.apply_decoded(tp.partition, events))
            await self._write_batch(tp.partition, next_offset=records[-1].offset + 1)
        for partition, _ in controls:
            if partition in self.held:
                await self._in_partition(partition, self.recompute(partition))
                await self._write_batch(partition)

    async def _in_partition(self, partition: int, work: Any) -> Any:
        self.timers.current = partition
        try:
            return await work
        finally:
            self.timers.current = None

    async def _write_batch(self, partition: int, *, next_offset: int | None = None) -> None:
        """The partition's batch, once: SLA events delivered, then changelog, then RocksDB with the offsets."""
        rows = self.timers.take(partition)
        if self._in_flight:
            in_flight, self._in_flight = self._in_flight, []
            await asyncio.gather(*in_flight)  # a row marked 'announced' is never written before its event is out
        if not rows and next_offset is None:
            return
        assert self._producer is not None
        futures = [
            await self._producer.send(self.changelog, value=value, key=key, partition=partition)
            for key, value in rows.items()
        ]
        if next_offset is not None:
            marker = str(next_offset).encode()
            futures.append(await self._producer.send(self.changelog, value=marker, key=OFFSET_KEY, partition=partition))
        written = await asyncio.gather(*futures)
        store = self.timers.stores[partition]
        store.write(rows, offset=next_offset, changelog_offset=max(meta.offset for meta in written) + 1)

    async def _commit(self) -> None:
        assert self._consumer is not None
        offsets: dict[TopicPartition, int] = {}
        for partition in self.held:
            if (next_offset := self.timers.stores[partition].offset()) is not None:
                offsets[TopicPartition(self.settings.tickets_topic, partition)] = next_offset
        for partition, next_offset in self._tick_offsets.items():
            offsets[TopicPartition(self.settings.tick_topic, partition)] = next_offset
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as error:
            # a rebalance is under way: the rows carry their offsets, the next owner's commit follows
            log.info("sla_commit_skipped", error=repr(error))
            return
        self._tick_offsets = {}

    # ------------------------------------------------------------------ rebalances

    async def on_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self._lock:
            self._assigned = False
            self._caught_up = None
            await self._commit()
            for tp in revoked:
                if tp.topic == self.settings.tickets_topic:
                    self._forget(tp.partition)

    def _forget(self, partition: int) -> None:
        self.held.discard(partition)
        for key in [k for k in self.index.entries if k.startswith(f"{partition}:".encode())]:
            del self.index.entries[key]
        self.index.states.pop(str(partition).encode(), None)
        self._last_offset.pop(partition, None)

    async def on_assigned(self, assigned: list[TopicPartition]) -> None:
        async with self._lock:
            self._rebuilding = True
            try:
                for tp in sorted(assigned):
                    if tp.topic == self.settings.tickets_topic:
                        await self._take_partition(tp.partition)
            finally:
                self._rebuilding = False
            self._assigned = True

    async def _take_partition(self, partition: int) -> None:
        started = time.perf_counter()
        store = self.timers.stores.get(partition)
        if store is None:
            store = self.timers.stores[partition] = PartitionStore(
                self.datadir / f"p{partition}",
                write_buffer_mb=self.settings.rocksdb_write_buffer_mb,
                block_cache_mb=self.settings.rocksdb_block_cache_mb,
            )
        replayed = await self._replay_changelog(partition, store)
        timers = await self._rebuild_index(partition, store)
        tp = TopicPartition(self.settings.tickets_topic, partition)
        if (next_offset := store.offset()) is not None:
            assert self._consumer is not None
            self._consumer.seek(tp, next_offset)  # exactly where the rows stand, whatever was committed
        self.held.add(partition)
        log.info(
            "sla_partition_ready",
            partition=partition,
            changelog_replayed=replayed,
            timers=timers,
            offset=next_offset,
            seconds=round(time.perf_counter() - started, 3),
        )

    async def _replay_changelog(self, partition: int, store: PartitionStore) -> int:
        """Read the changelog from this database's last applied offset to its end: others' writes, or all."""
        tp = TopicPartition(self.changelog, partition)
        reader = AIOKafkaConsumer(
            bootstrap_servers=self.kafka_bootstrap,
            enable_auto_commit=False,
            max_partition_fetch_bytes=self.settings.consumer_max_fetch_size,
            fetch_max_bytes=4 * self.settings.consumer_max_fetch_size,
        )
        await reader.start()
        replayed = 0
        try:
            reader.assign([tp])
            end = (await reader.end_offsets([tp]))[tp]
            position = store.changelog_offset()
            if position >= end:
                return 0
            reader.seek(tp, position)
            rows: dict[bytes, bytes] = {}
            offset: int | None = None
            while position < end:
                fetched = await reader.getmany(tp, timeout_ms=1000, max_records=REBUILD_CHUNK)
                for record in fetched.get(tp, []):
                    position = record.offset + 1
                    if record.key == OFFSET_KEY:
                        offset = int(record.value)
                    elif record.value is not None:
                        rows[record.key] = record.value
                if len(rows) >= REBUILD_CHUNK or position >= end:
                    replayed += len(rows)
                    store.write(rows, offset=offset, changelog_offset=position)
                    rows, offset = {}, None
        finally:
            await reader.stop()
        return replayed

    async def _rebuild_index(self, partition: int, store: PartitionStore) -> int:
        """The partition's due index and open count from its rows; checks start now (overdue: the next check)."""
        self._forget(partition)
        cursor = bucket_of(self.clock.now().timestamp(), self.settings.bucket_seconds) - 1
        open_timers = count = 0
        chunk: list[tuple[TicketTimers, int | None]] = []

        def index_chunk() -> None:
            self.index.reindex_all([ticket for ticket, _ in chunk], partition, cursor)
            # local only: which bucket lists a ticket is this node's business, not the changelog's
            store.write({t.ticket_id.encode(): t.to_bytes() for t, before in chunk if t.indexed_bucket != before})
            chunk.clear()

        for _key, raw in store.rows():
            if count % REBUILD_CHUNK == 0:
                await asyncio.sleep(0)  # heartbeats and the health server between chunks of a large partition
            ticket = TicketTimers.from_bytes(raw)
            count += 1
            open_timers += len(ticket.running())
            if ticket.next_due() is None:
                continue
            chunk.append((ticket, ticket.indexed_bucket))
            ticket.indexed_bucket = None
            if len(chunk) >= REBUILD_CHUNK:
                index_chunk()
        index_chunk()
        self.index.save_state(partition, {"cursor": cursor, "open": open_timers})
        return count

    # ------------------------------------------------------------------ what the core asks

    async def ready(self) -> bool:
        """Running, assigned, every partition rebuilt and read to the end once since the last rebalance."""
        if self._failure is not None or self._consumer is None or not self._assigned or self._rebuilding:
            return False
        held = frozenset(self.held)
        if self._caught_up == held:
            return True
        for partition in held:
            tp = TopicPartition(self.settings.tickets_topic, partition)
            try:
                end = (await self._consumer.end_offsets([tp]))[tp]
                position = await self._consumer.position(tp)
            except Exception:
                return False
            last = self._last_offset.get(partition)
            upto = max(position, last + 1) if last is not None else position
            if upto < end:
                return False
        self._caught_up = held
        return True

    def _highwater(self, partition: int) -> int | None:
        if self._consumer is None:
            return None
        highwater: int | None = self._consumer.highwater(TopicPartition(self.settings.tickets_topic, partition))
        return highwater

    async def _position(self, partition: int) -> int | None:
        if self._consumer is None:
            return None
        position: int = await self._consumer.position(TopicPartition(self.settings.tickets_topic, partition))
        return position

    def owned_partitions(self) -> list[int]:
        return sorted(self.held)

    def _topic_name(self, topic: Topic) -> str:
        return self.settings.sla_topic if topic is Topic.SLA else self.settings.notifications_topic

    async def _send_to_topic(self, topic: Topic, key: bytes, value: bytes) -> None:
        assert self._producer is not None
        self._in_flight.append(await self._producer.send(self._topic_name(topic), value=value, key=key))

    async def _dead_letter(self, key: bytes | None, value: bytes) -> None:
        assert self._producer is not None
        self._in_flight.append(await self._producer.send(self.settings.deadletter_topic, value=value, key=key))

    async def request_recompute(self) -> int:
        await asyncio.wait_for(self._started.wait(), timeout=30)
        assert self._producer is not None
        for partition in range(self.partitions):
            await self._producer.send_and_wait(self.settings.tick_topic, value=RECOMPUTE, partition=partition)
        return self.partitions
