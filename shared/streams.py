"""Faust apps that start only on their topics, tell the truth about readiness, and end the process when they crash.

Every stream processor of the product (the SLA monitor, intake's complaint grading) is a `StreamApp` run by
`run_stream_app`: before the app subscribes, every topic it needs (its tables' changelogs, its internal
repartition topics, its leader topic, its source topics) exists with its partition count and shows in the
cluster metadata. Faust would otherwise create a changelog itself while its consumer already subscribes; the
consumer's metadata snapshot then holds the topic with no partitions, and the first table write fails with
PartitionsMismatch, agent restart after agent restart, while the process looks alive.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

import faust
import faust.streams
import structlog
from faust.exceptions import ProducerSendError
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.transport.drivers.aiokafka import Consumer as FaustKafkaConsumer
from faust.transport.drivers.aiokafka import Producer as FaustKafkaProducer
from faust.types import TP, AgentT, ConsumerT, EventT, ProducerT
from faust.types.tuples import FutureMessage, RecordMetadata
from mode.supervisors import CrashingSupervisor

from shared.topics import TopicSpec, ensure_topics

log = structlog.get_logger(__name__)

BEHIND_LOG_EVERY = 30.0  # seconds between two log lines on the same partition not read to its end


class StreamAppCrashed(RuntimeError):
    """An agent of a stream processor raised: the process must end (non-zero) so that its supervisor restarts it."""


class FlushingProducer(FaustKafkaProducer):
    """Faust's Kafka producer whose `flush` waits until every message sent before it is acknowledged.

    Faust flushes the producer before it commits the consumer's offsets (on every commit and on a rebalance's
    revocation), so that a table's changelog holds every change made for the offsets committed. But its buffer's
    flush gives up as soon as one message takes longer than 0.1 s to hand over (a loaded machine, a broker failover
    waiting for metadata) and never waits for the message already taken out of the buffer; the offsets were then
    committed ahead of changelog writes still in memory. A kill -9, or the partition moving to another worker that
    rebuilds the table from the changelog, lost those writes for good: a dispatched repair without its SLA timers
    (issue 14). A message that cannot be delivered makes the flush raise, so the offsets are not committed.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._unacknowledged: set[asyncio.Future[Any]] = set()

    def _track(self, future: asyncio.Future[Any]) -> None:
        self._unacknowledged.add(future)
        future.add_done_callback(self._unacknowledged.discard)

    def send_soon(self, fut: FutureMessage) -> None:
        self._track(fut)  # a table write: done once the broker acknowledged it (topics.Topic._on_published)
        super().send_soon(fut)

    async def send(self, *args: Any, **kwargs: Any) -> Awaitable[RecordMetadata]:
        delivered = await super().send(*args, **kwargs)
        self._track(cast(asyncio.Future[Any], delivered))
        return delivered

    async def flush(self) -> None:
        # what was sent before the flush (the offsets to commit were taken before it); later sends wait for the next
        pending = list(self._unacknowledged)
        await super().flush()
        if pending:
            await asyncio.wait(pending)
        failed = [f.exception() for f in pending if not f.cancelled() and f.exception() is not None]
        if failed:
            raise ProducerSendError(f"{len(failed)} message(s) not delivered: {failed[0]!r}") from failed[0]


class IdempotentProducer(FlushingProducer):
    """The flushing producer with acks=all and idempotence outside transactions too (Faust turns idempotence on
    only for exactly-once): a send retried across a broker failover is written to its partition once."""

    def _settings_extra(self) -> Mapping[str, Any]:
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}


class RewindingConsumerThread(AIOKafkaConsumerThread):
    """Faust's consumer thread whose seek to the committed offsets also rewinds a partition that has none.

    Faust drops records it fetched but may not hand to an agent (the flow stopped for a rebalance, the partition
    not active yet) and relies on a seek to the committed offsets to read them again. aiokafka's seek skips a
    partition with no committed offset, so its position stayed past the dropped records: the first events of a
    partition nobody had committed on yet were never processed (issue 14: a dispatched repair without its SLA
    timers, after a worker was killed while the partition was still empty). Such a partition goes back to its
    start, which is where `auto_offset_reset="earliest"` would have put a fresh consumer; a changelog is left to
    Faust's recovery, which seeks it itself.
    """

    async def seek_to_committed(self) -> Mapping[TP, int]:
        return cast(Mapping[TP, int], await self.call_thread(self._seek_to_committed_or_start))

    async def _seek_to_committed_or_start(self) -> Mapping[TP, int]:
        consumer = self._ensure_consumer()
        committed: Mapping[TP, int | None] = await consumer.seek_to_committed()
        changelogs = self.app.tables.changelog_topics
        uncommitted = [tp for tp, offset in committed.items() if not offset and tp.topic not in changelogs]
        if uncommitted:
            log.info("stream_partitions_rewound", partitions=sorted(f"{tp.topic}:{tp.partition}" for tp in uncommitted))
            # a seek to a known offset: a lazy reset would leave no position, which Faust's livelock check reads
            for tp, start in (await consumer.beginning_offsets(uncommitted)).items():
                consumer.seek(tp, start)
        return cast(Mapping[TP, int], committed)


class RewindingConsumer(FaustKafkaConsumer):
    def _new_consumer_thread(self) -> AIOKafkaConsumerThread:
        return RewindingConsumerThread(self, loop=self.loop, beacon=self.beacon)


@contextmanager
def as_current_event(event: EventT[Any]) -> Iterator[None]:
    """Within it, `event` is Faust's current event: table reads and writes go to its partition's store and
    changelog. A batch from `stream.take_events` is handled in the agent's task, where Faust sets none."""
    token = faust.streams._current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        faust.streams._current_event.reset(token)


class StreamApp(faust.App):
    """A Faust app whose crashed agent is not restarted inside the process but recorded for `run_stream_app`.

    `idempotent_producer` (default on) gives it an `IdempotentProducer`, like `shared.bus.make_producer`'s.
    """

    def __init__(self, id: str, *, idempotent_producer: bool = True, **options: Any) -> None:
        options.setdefault("agent_supervisor", CrashingSupervisor)
        self.idempotent_producer = idempotent_producer
        super().__init__(id, **options)
        self.failure: BaseException | None = None
        self._caught_up: frozenset[TP] | None = None
        self._checking: asyncio.Future[bool] | None = None
        self._behind_logged: dict[TP, float] = {}

    def _new_producer(self) -> ProducerT:
        kind = IdempotentProducer if self.idempotent_producer else FlushingProducer
        return kind(self.transport, loop=self.loop, beacon=self.beacon)

    def _new_consumer(self) -> ConsumerT:
        return RewindingConsumer(
            self.transport,
            callback=self.topics.on_message,
            on_partitions_revoked=self._on_partitions_revoked,
            on_partitions_assigned=self._on_partitions_assigned,
            beacon=self.beacon,
            loop=self.loop,
        )

    async def _on_agent_error(self, agent: AgentT[Any], exc: BaseException) -> None:
        # an agent restarted in place would fail again on the same message, forever (the issue-13 crash loop)
        if self.failure is None:
            self.failure = exc
            log.error("stream_agent_crashed", app=self.conf.id, agent=agent.name, error=repr(exc))
        await super()._on_agent_error(agent, exc)

    # ------------------------------------------------------------------ the topics it needs

    def required_topics(self) -> dict[str, TopicSpec]:
        """Every topic this app reads or writes by itself, with the partition count it must have."""
        wanted: dict[str, TopicSpec] = {}
        for table in self.tables.values():
            changelog = table.changelog_topic
            config: dict[str, str] = {str(k): str(v) for k, v in (changelog.config or {}).items()}
            policy = [flag for flag, on in (("compact", changelog.compacting), ("delete", changelog.deleting)) if on]
            if policy:
                config["cleanup.policy"] = ",".join(policy)
            if changelog.retention:
                config["retention.ms"] = str(int(float(changelog.retention) * 1000))
            # a changelog must have its source's partition count: never grown, never another size
            for name in changelog.topics:
                wanted[name] = TopicSpec(table.partitions or self.conf.topic_partitions, config)
        for agent in self.agents.values():
            channel: Any = agent.channel
            partitions = channel.partitions or self.conf.topic_partitions
            for name in getattr(channel, "topics", ()):
                # internal = a repartition topic of this app (a producer's auto-create may have made it smaller);
                # a source topic must be co-partitioned with the tables fed from it
                spec = TopicSpec(partitions, grow=bool(channel.internal))
                wanted.setdefault(name, spec)
        if not self.conf.topic_disable_leader:
            wanted[f"{self.conf.id}-__assignor-__leader"] = TopicSpec(1)  # faust's LeaderAssignor name
        return wanted

    # ------------------------------------------------------------------ readiness

    def _processed_topics(self) -> set[str]:
        topics: set[str] = set()
        for agent in self.agents.values():
            topics.update(getattr(agent.channel, "topics", ()))
        return topics

    async def ready(self) -> bool:
        """True once the app holds its partitions, has recovered its tables and has read up to the end of each
        partition it was given (then until the next rebalance); false while starting, rebalancing or crashed."""
        if not self.started or self.crashed or self.failure is not None or self.rebalancing or self.in_recovery:
            return False
        if self.tables and not cast(Any, self.tables).recovery.completed.is_set():
            return False
        try:
            assigned = frozenset(tp for tp in self.consumer.assignment() if tp.topic in self._processed_topics())
        except Exception:  # the consumer has not started yet
            return False
        if not assigned:
            return False
        if self._caught_up == assigned:
            return True
        # One check at a time, shared by the probes that come meanwhile: every broker round trip goes through Faust's
        # consumer thread one call after another, and a probe that gave up (`hotline up` waits 1 s) would leave its
        # calls queued in front of the next probe's.
        if self._checking is None or self._checking.done():
            self._checking = asyncio.ensure_future(self._all_read_to_end(assigned))
        return await asyncio.shield(self._checking) and self._caught_up == assigned

    async def _all_read_to_end(self, assigned: frozenset[TP]) -> bool:
        unknown: list[TP] = []
        for tp in assigned:
            highwater = self._known_end(tp)
            if highwater is None:
                unknown.append(tp)
            elif not await self._read_up_to(tp, highwater, known=highwater):
                return False
        if unknown:
            # No fetch answer for these since they were assigned, so the consumer knows no end: an idle partition
            # whose leader moved (CI's chaos run saw a restarted worker hold two empty partitions and answer "not
            # ready" for four minutes). The broker's end offsets decide, asked once for all of them: on a
            # connection with a fetch waiting, the answer can take the fetch's wait.
            try:
                ends = await self.consumer.highwaters(*unknown)
            except Exception:
                return False
            for tp in unknown:
                end = ends.get(tp)
                if end is None or not await self._read_up_to(tp, end, known=None):
                    return False
        self._caught_up = assigned
        return True

    def _known_end(self, tp: TP) -> int | None:
        try:
            return self.consumer.highwater(tp)
        except Exception:
            return None

    async def _read_up_to(self, tp: TP, end: int, *, known: int | None) -> bool:
        # the last offset handed to a stream (faust keeps no public one); after a seek, the offset sought to
        read = cast(Any, self.consumer)._read_offset.get(tp)
        position = None
        if read is None:
            try:
                position = await self.consumer.position(tp)
            except Exception:
                return False
        upto = read + 1 if read is not None else position
        if upto is not None and upto >= end:
            return True
        self._report_behind(tp, read=read, position=position, highwater=known, end=end)
        return False

    def _report_behind(self, tp: TP, **offsets: int | None) -> None:
        """One log line per partition per half minute while it is not read to its end: why readiness says no."""
        now = asyncio.get_running_loop().time()
        if now - self._behind_logged.get(tp, -BEHIND_LOG_EVERY) < BEHIND_LOG_EVERY:
            return
        self._behind_logged[tp] = now
        log.info("stream_partition_behind", app=self.conf.id, partition=f"{tp.topic}:{tp.partition}", **offsets)


async def prepare_topics(app: StreamApp, bootstrap: str, *, ready_within: float = 60.0) -> dict[str, int]:
    """Create every topic the app needs and wait until the metadata shows them (before the app subscribes)."""
    wanted = app.required_topics()
    replicas = int(app.conf.topic_replication_factor)  # 3 on a cluster, like `hotline topics apply`
    counts = await ensure_topics(bootstrap, wanted, replication_factor=replicas, ready_within=ready_within)
    log.info("stream_topics_ready", app=app.conf.id, topics=sorted(wanted))
    return counts


async def run_stream_app(app: StreamApp, bootstrap: str, stop: asyncio.Event) -> None:
    """Run the app until `stop`; raise StreamAppCrashed if an agent or the app crashes meanwhile."""
    await prepare_topics(app, bootstrap)
    await app.start()
    try:
        while not stop.is_set() and app.failure is None and not app.crashed:
            try:
                await asyncio.wait_for(stop.wait(), timeout=0.5)
            except TimeoutError:
                pass
    finally:
        try:
            await app.stop()
        except Exception as error:  # a crashed app's consumer thread is gone already: nothing left to commit
            if app.failure is None and not app.crashed:
                raise
            log.warning("stream_app_stop_after_crash", app=app.conf.id, error=repr(error))
    reason = app.failure or (app.crash_reason if app.crashed else None)
    if reason is not None:
        raise StreamAppCrashed(f"{app.conf.id} crashed: {reason!r}") from reason
