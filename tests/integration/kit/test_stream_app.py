"""shared.streams and shared.topics on a real broker: a Faust app starts only on its topics, says ready only when
it can act, and a crashed agent ends its run (issue 13, item 1)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import faust
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from hotline.infra.topics import delete_topics
from shared.streams import StreamApp, StreamAppCrashed, prepare_topics, run_stream_app
from shared.topics import TopicsNotReady, TopicSpec, ensure_topics

pytestmark = pytest.mark.integration
PARTITIONS = 3


class Counter:
    """A stream processor like the product's: a changelog-backed table fed by a source and a repartition topic."""

    def __init__(self, bootstrap: str, datadir: Path) -> None:
        run = uuid.uuid4().hex[:8]
        self.source_name = f"kit-streams-{run}.source"
        self.app = StreamApp(
            f"kit-streams-{run}",
            broker=f"kafka://{bootstrap}",
            store="memory://",
            datadir=str(datadir),
            web_enabled=False,
            topic_partitions=PARTITIONS,
            topic_replication_factor=1,
            broker_commit_interval=0.5,
            consumer_auto_offset_reset="earliest",
        )
        raw = {"key_serializer": "raw", "value_serializer": "raw"}
        self.counts = self.app.Table("counts_by_key", default=int, partitions=PARTITIONS)
        self.source = self.app.topic(self.source_name, partitions=PARTITIONS, **raw)
        self.rekeyed = self.app.topic(f"kit-streams-{run}.rekeyed", partitions=PARTITIONS, internal=True, **raw)
        self.seen: asyncio.Queue[bytes] = asyncio.Queue()

        async def rekey(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
            async for key, value in stream.items():
                await self.rekeyed.send(key=key, value=value)
                yield None

        async def count(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
            async for key, value in stream.items():
                if value == b"poison":
                    raise ValueError("cannot count poison")
                self.counts[key.decode()] += 1
                await self.seen.put(key)
                yield None

        self.app.agent(self.source, name="rekey_by_value")(rekey)
        self.app.agent(self.rekeyed, name="count_by_key")(count)

    def topics(self) -> list[str]:
        return [*self.app.required_topics()]


@pytest.fixture
async def counter(kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[Counter]:
    built = Counter(kafka_bootstrap, tmp_path)
    yield built
    await delete_topics(kafka_bootstrap, built.topics())


async def until_ready(app: StreamApp, running: asyncio.Task[None]) -> None:
    async with asyncio.timeout(60):
        while not await app.ready():
            assert not running.done(), running
            await asyncio.sleep(0.2)


async def send(bootstrap: str, topic: str, key: bytes, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def describe(bootstrap: str, names: list[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        present = set(await admin.list_topics())  # describing an absent topic would auto-create it
        known = [name for name in names if name in present]
        described = await admin.describe_topics(known) if known else []
        return {t["topic"]: len(t["partitions"]) for t in described if not t["error_code"]}
    finally:
        await admin.close()


async def compacted(bootstrap: str, name: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
        entries = {entry[0]: entry[1] for entry in response.resources[0][4]}
        return entries.get("cleanup.policy") == "compact"
    finally:
        await admin.close()


async def test_every_changelog_repartition_and_source_topic_exists_before_the_app_subscribes(
    kafka_bootstrap: str, counter: Counter
) -> None:
    changelog = f"{counter.app.conf.id}-counts_by_key-changelog"
    assert await describe(kafka_bootstrap, [changelog]) == {}  # nothing yet
    await prepare_topics(counter.app, kafka_bootstrap)
    found = await describe(kafka_bootstrap, counter.topics())
    assert found[changelog] == PARTITIONS  # co-partitioned with its source
    assert found[counter.rekeyed.get_topic_name()] == PARTITIONS
    assert found[counter.source_name] == PARTITIONS
    assert found[f"{counter.app.conf.id}-__assignor-__leader"] == 1
    assert await compacted(kafka_bootstrap, changelog)


async def test_a_fresh_app_acts_on_its_first_message_and_is_ready_only_then(
    kafka_bootstrap: str, counter: Counter
) -> None:
    stop = asyncio.Event()
    assert not await counter.app.ready()  # not started: not ready
    running = asyncio.create_task(run_stream_app(counter.app, kafka_bootstrap, stop))
    try:
        await until_ready(counter.app, running)
        assigned = {tp.topic for tp in counter.app.consumer.assignment()}
        assert {counter.source_name, counter.rekeyed.get_topic_name()} <= assigned
        await send(kafka_bootstrap, counter.source_name, b"k", b"first")
        async with asyncio.timeout(30):
            assert await counter.seen.get() == b"k"  # no PartitionsMismatch: the table took the write
        assert counter.counts["k"] == 1
    finally:
        stop.set()
        await running


async def test_a_crashed_agent_ends_the_run_instead_of_restarting_in_place(
    kafka_bootstrap: str, counter: Counter
) -> None:
    stop = asyncio.Event()
    running = asyncio.create_task(run_stream_app(counter.app, kafka_bootstrap, stop))
    try:
        async with asyncio.timeout(60):
            while not await counter.app.ready():
                await asyncio.sleep(0.2)
        await send(kafka_bootstrap, counter.source_name, b"k", b"poison")
        with pytest.raises(StreamAppCrashed, match="cannot count poison"):
            async with asyncio.timeout(30):
                await running
        assert not await counter.app.ready()
    finally:
        stop.set()
        if not running.done():
            await running


async def test_a_changelog_of_the_wrong_size_is_refused_before_the_app_starts(
    kafka_bootstrap: str, counter: Counter
) -> None:
    changelog = f"{counter.app.conf.id}-counts_by_key-changelog"
    await ensure_topics(kafka_bootstrap, {changelog: TopicSpec(1)})
    with pytest.raises(TopicsNotReady, match="wrong size"):
        await prepare_topics(counter.app, kafka_bootstrap)
    assert not counter.app.started


async def changelog_records(bootstrap: str, name: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(name, p) for p in range(PARTITIONS)]
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


async def test_a_flush_before_a_commit_waits_for_every_table_write_even_when_the_producer_is_slow(
    kafka_bootstrap: str, counter: Counter
) -> None:
    """Issue 14's lost SLA timers: Faust flushes the producer before it commits offsets (every commit, every
    revocation); its buffer gave up after 0.1 s without a message handed over, so offsets were committed ahead of
    changelog writes still in memory, and a kill -9 or a partition moving to another worker lost them."""
    await prepare_topics(counter.app, kafka_bootstrap)
    producer = counter.app.producer
    buffer = cast(Any, producer).buffer
    hand_over = buffer._send_pending

    async def slowly(fut: Any) -> None:
        await asyncio.sleep(0.15)  # a loaded machine, or a broker failover waiting for the partition's leader
        await hand_over(fut)

    buffer._send_pending = slowly  # read once by the buffer's task when it starts
    await producer.start()
    try:
        for n in range(12):  # table writes, as `table[key] = value` inside an agent makes them
            counter.counts.send_changelog(n % PARTITIONS, f"key-{n}", n)
        await producer.flush()
        changelog = counter.counts.changelog_topic.get_topic_name()
        assert await changelog_records(kafka_bootstrap, changelog) == 12  # all on the broker before any commit
    finally:
        await producer.stop()


async def test_records_dropped_on_a_partition_never_committed_on_are_read_again_after_the_seek(
    kafka_bootstrap: str, counter: Counter
) -> None:
    """Faust drops what it fetched while its flow is stopped (a rebalance) and seeks back to the committed offsets.
    On a partition nobody had committed on yet, that seek must take it back to its start: the chaos run's repair
    dispatched while a worker was killed on a still-empty partition never got its SLA timers (issue 14)."""
    stop = asyncio.Event()
    running = asyncio.create_task(run_stream_app(counter.app, kafka_bootstrap, stop))
    try:
        await until_ready(counter.app, running)
        consumer = cast(Any, counter.app.consumer)
        sources = [TopicPartition(tp.topic, tp.partition) for tp in consumer.assignment()]
        sources = [tp for tp in sources if tp.topic == counter.source_name]
        consumer.stop_flow()  # what a rebalance does first
        await send(kafka_bootstrap, counter.source_name, b"k", b"first")

        async def fetched_and_dropped() -> None:
            # what Faust did with a record fetched in that window: the position is past it, the record dropped
            kafka = consumer._thread._ensure_consumer()
            for tp, end in (await kafka.end_offsets(sources)).items():
                kafka.seek(tp, end)

        await consumer._thread.call_thread(fetched_and_dropped)
        await consumer.perform_seek()  # Faust's way back to the committed offsets (there are none)
        consumer.resume_flow()
        async with asyncio.timeout(30):
            assert await counter.seen.get() == b"k"  # read again from the partition's start, not skipped
        assert counter.counts["k"] == 1
    finally:
        stop.set()
        await running


@asynccontextmanager
async def running_ready(counter: Counter, bootstrap: str) -> AsyncIterator[Any]:
    """The app running and ready; yields its Faust consumer."""
    stop = asyncio.Event()
    running = asyncio.create_task(run_stream_app(counter.app, bootstrap, stop))
    try:
        await until_ready(counter.app, running)
        yield cast(Any, counter.app.consumer)
    finally:
        stop.set()
        await running


async def as_just_assigned(counter: Counter, consumer: Any, partitions: list[TopicPartition]) -> None:
    """No fetch answer for `partitions` since the assignment, and none coming while they are paused."""
    kafka = consumer._thread._ensure_consumer()

    async def pause() -> None:
        for tp in partitions:
            kafka.pause(tp)

    async def forget() -> None:
        for tp in partitions:
            kafka._subscription.subscription.assignment.state_value(tp).highwater = None

    await consumer._thread.call_thread(pause)
    await asyncio.sleep(2)  # a fetch already sent answers within its wait (it would set the end again)
    await consumer._thread.call_thread(forget)
    counter.app._caught_up = None  # what a new assignment does


async def test_a_worker_holding_an_idle_partition_it_has_no_fetch_answer_for_asks_the_broker_whether_it_is_read(
    kafka_bootstrap: str, counter: Counter
) -> None:
    """CI's chaos run: a restarted grading worker held an empty partition whose leader had moved; with no fetch
    answer its consumer knew no end offset, and readiness said "not ready" until the run gave up (issue 14). An
    unknown end is asked of the broker: an empty partition is read to its end, one with a record not yet read is not."""
    idle = [TopicPartition(counter.source_name, 0)]
    async with running_ready(counter, kafka_bootstrap) as consumer:
        await as_just_assigned(counter, consumer, idle)
        assert await counter.app.ready()  # the broker says the partition is empty: nothing left to read

        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(counter.source_name, b"waiting", key=b"k", partition=0)
        finally:
            await producer.stop()
        await as_just_assigned(counter, consumer, idle)
        assert not await counter.app.ready()  # a record the paused consumer has not read: behind


async def test_readiness_probes_that_come_together_share_one_broker_check(
    kafka_bootstrap: str, counter: Counter
) -> None:
    """`hotline up` at 28210b9: each probe asked the broker for each partition, one call after another through
    Faust's consumer thread (1.5 s each at load), and gave up after 1 s; the calls of the probes that gave up queued
    in front of the next probe's, and a fresh intake worker never answered "ready" again. Now the probes that come
    while a check runs wait for its answer, and the check asks the broker once for every partition."""
    async with running_ready(counter, kafka_bootstrap) as consumer:
        held = counter.app.consumer.assignment()
        assigned = [TopicPartition(tp.topic, tp.partition) for tp in held if tp.topic == counter.source_name]
        await as_just_assigned(counter, consumer, assigned)
        asked: list[tuple[Any, ...]] = []
        ask = consumer.highwaters

        async def counted(*partitions: Any) -> Any:
            asked.append(partitions)
            return await ask(*partitions)

        consumer.highwaters = counted
        assert await asyncio.gather(*(counter.app.ready() for _ in range(8))) == [True] * 8
        assert len(asked) == 1 and set(assigned) <= set(asked[0])  # one round trip, every partition not known read
