"""The broker is a real Kafka: keyed partitions, end offsets, group commits, idempotence, transactions."""

from __future__ import annotations

import uuid
from collections import Counter

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

KEYS = [f"ticket-{n}".encode() for n in range(10)]


async def _produce(bootstrap: str, topic: str, keys: list[bytes], **options: object) -> Counter[int]:
    """Send one message per key; the number of messages each partition received."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **options)
    await producer.start()
    try:
        per_partition: Counter[int] = Counter()
        for n, key in enumerate(keys):
            metadata = await producer.send_and_wait(topic, f"event-{n}".encode(), key=key)
            per_partition[metadata.partition] += 1
        return per_partition
    finally:
        await producer.stop()


async def _drain(consumer: AIOKafkaConsumer, expected: int) -> list[ConsumerRecord[bytes, bytes]]:
    records: list[ConsumerRecord[bytes, bytes]] = []
    for _ in range(60):
        batch = await consumer.getmany(timeout_ms=500)
        for partition_records in batch.values():
            records.extend(partition_records)
        if len(records) >= expected:
            # One more short poll: anything beyond the expected count is a bug worth seeing.
            extra = await consumer.getmany(timeout_ms=300)
            records.extend(r for rs in extra.values() for r in rs)
            break
    return records


def _group_consumer(bootstrap: str, topic: str, group: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )


async def test_group_consumer_reads_everything_once_and_resumes_from_committed_offsets(kafka_bootstrap, new_topic):
    topic = await new_topic(partitions=3)
    group = f"group-{uuid.uuid4().hex[:8]}"
    keys = KEYS * 3  # 30 messages, 3 per ticket
    per_partition = await _produce(kafka_bootstrap, topic, keys)

    consumer = _group_consumer(kafka_bootstrap, topic, group)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(3)]
        end_offsets = await consumer.end_offsets(partitions)
        assert {tp.partition: offset for tp, offset in end_offsets.items()} == {p: per_partition[p] for p in range(3)}
        records = await _drain(consumer, len(keys))
        assert len(records) == len(keys)
        # Keyed by ticket: one ticket's events all on one partition, in the order sent.
        by_key: dict[bytes, list[ConsumerRecord[bytes, bytes]]] = {}
        for record in records:
            by_key.setdefault(record.key, []).append(record)
        for key_records in by_key.values():
            assert len({r.partition for r in key_records}) == 1
            offsets = [r.offset for r in key_records]
            assert offsets == sorted(offsets)
        await consumer.commit()
        committed = {tp.partition: await consumer.committed(tp) for tp in partitions}
        assert committed == {p: per_partition[p] for p in range(3)}
    finally:
        await consumer.stop()

    later = [KEYS[0], KEYS[1]]
    await _produce(kafka_bootstrap, topic, later)
    resumed = _group_consumer(kafka_bootstrap, topic, group)
    await resumed.start()
    try:
        records = await _drain(resumed, len(later))
        assert sorted(r.value for r in records) == [b"event-0", b"event-1"]
    finally:
        await resumed.stop()


async def test_idempotent_producer_writes_each_message_once(kafka_bootstrap, new_topic):
    topic = await new_topic(partitions=2)
    per_partition = await _produce(kafka_bootstrap, topic, KEYS * 5, enable_idempotence=True, acks="all")
    assert sum(per_partition.values()) == 50

    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(2)]
        end_offsets = await consumer.end_offsets(partitions)
        assert sum(end_offsets.values()) == 50
        consumer.assign(partitions)
        records = await _drain(consumer, 50)
        assert sorted(r.value for r in records) == sorted(f"event-{n}".encode() for n in range(50))
    finally:
        await consumer.stop()


async def test_transactions_hide_aborted_writes_from_read_committed_consumers(kafka_bootstrap, new_topic):
    topic = await new_topic(partitions=1)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, transactional_id=f"tx-{uuid.uuid4().hex[:8]}")
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send_and_wait(topic, b"kept-1", key=b"t")
        await producer.begin_transaction()
        await producer.send_and_wait(topic, b"dropped", key=b"t")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send_and_wait(topic, b"kept-2", key=b"t")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka_bootstrap, isolation_level="read_committed", auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        records = await _drain(consumer, 2)
        assert [r.value for r in records] == [b"kept-1", b"kept-2"]
    finally:
        await consumer.stop()
