"""A real Faust worker process keeps its table across SIGKILL and restart, from the changelog topic."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from tests.integration.infra.faust_counter_app import IN_PARTITIONS

REPO = Path(__file__).resolve().parents[3]


class Worker:
    """One `faust worker` process of the counter app, with its log in a file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.integration.infra.faust_counter_app", "worker", "-l", "info"],
                cwd=REPO,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-60:])


@pytest.fixture
def counter_topics(new_topic) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    return asyncio.run(_make_topics(new_topic))


async def _make_topics(new_topic) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    return await new_topic(partitions=IN_PARTITIONS, prefix="calls"), await new_topic(partitions=1, prefix="totals")


@pytest.fixture
def worker(kafka_bootstrap: str, tmp_path: Path, counter_topics: tuple[str, str]) -> Iterator[Worker]:
    in_topic, out_topic = counter_topics
    env = dict(os.environ)
    env.update(
        FAUST_APP_ID=f"counter-{uuid.uuid4().hex[:8]}",
        KAFKA_BOOTSTRAP=kafka_bootstrap,
        COUNTER_IN_TOPIC=in_topic,
        COUNTER_OUT_TOPIC=out_topic,
        FAUST_DATADIR=str(tmp_path / "faust"),
        PYTHONPATH=str(REPO),
    )
    process = Worker(env, tmp_path / "worker.log")
    yield process
    process.stop()


async def _send(bootstrap: str, topic: str, keys: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for key in keys:
            await producer.send_and_wait(topic, b"call", key=key)
    finally:
        await producer.stop()


async def _read_totals(
    bootstrap: str, topic: str, start: int, worker: Worker, done: Callable[[list[tuple[bytes, bytes]]], bool]
) -> list[tuple[bytes, bytes]]:
    """(key, total) pairs the worker sent from offset `start` on, once `done` says enough; fails with its log."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek(partition, start)
        seen: list[tuple[bytes, bytes]] = []
        for _ in range(240):  # up to two minutes: a restarted worker first waits out the dead member
            batch = await consumer.getmany(partition, timeout_ms=500)
            seen.extend((r.key or b"", r.value or b"") for r in batch.get(partition, []))
            if done(seen):
                return seen
            if not worker.alive():
                break
        pytest.fail(f"saw only {seen}; worker log:\n{worker.log_tail()}")
    finally:
        await consumer.stop()


async def _wait_until_processing(bootstrap: str, in_topic: str, out_topic: str, start: int, worker: Worker) -> None:
    """Send probes to every partition until the worker answers each: it is past its rebalance.

    Faust discards messages fetched while its consumer generation changes (faust-streaming #221/#223),
    so a message sent during the restart's rebalance may never be counted; probes absorb that.
    """
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    probes = {f"probe-{p}".encode() for p in range(IN_PARTITIONS)}
    try:
        for _ in range(60):
            for p in range(IN_PARTITIONS):
                await producer.send_and_wait(in_topic, b"probe", key=f"probe-{p}".encode(), partition=p)
            try:
                seen = await asyncio.wait_for(
                    _read_totals(bootstrap, out_topic, start, worker, lambda s: probes <= {k for k, _ in s}), 2.0
                )
            except TimeoutError:
                continue
            if probes <= {k for k, _ in seen}:
                return
        pytest.fail(f"the restarted worker never answered its probes; log:\n{worker.log_tail()}")
    finally:
        await producer.stop()


async def _wait_settled(bootstrap: str, group: str, topic: str, changelog: str, total: int, worker: Worker) -> None:
    """Until the worker has committed every input offset and its table's changelog holds every update."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        changelog_partitions = [TopicPartition(changelog, p) for p in range(IN_PARTITIONS)]
        committed = changelog_end = 0
        for _ in range(120):
            offsets = await admin.list_consumer_group_offsets(group)
            committed = sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic)
            changelog_end = sum((await consumer.end_offsets(changelog_partitions)).values())
            if committed == total and changelog_end == total:
                return
            await asyncio.sleep(0.5)
        pytest.fail(
            f"committed {committed}/{total}, changelog {changelog_end}/{total}; worker log:\n{worker.log_tail()}"
        )
    finally:
        await consumer.stop()
        await admin.close()


def test_worker_killed_with_sigkill_restarts_with_its_table_intact(kafka_bootstrap, counter_topics, worker):
    in_topic, out_topic = counter_topics
    app_id = worker.env["FAUST_APP_ID"]
    changelog = f"{app_id}-counts_by_key-changelog"

    worker.start()
    asyncio.run(_send(kafka_bootstrap, in_topic, [b"a"] * 5 + [b"b"] * 3))
    totals = asyncio.run(_read_totals(kafka_bootstrap, out_topic, 0, worker, lambda seen: len(seen) >= 8))
    assert _latest(totals) == {b"a": 5, b"b": 3}
    asyncio.run(_wait_settled(kafka_bootstrap, app_id, in_topic, changelog, 8, worker))

    worker.kill()
    assert not worker.alive()
    worker.start()
    asyncio.run(_wait_until_processing(kafka_bootstrap, in_topic, out_topic, 8, worker))

    asyncio.run(_send(kafka_bootstrap, in_topic, [b"a", b"b"]))
    after = asyncio.run(
        _read_totals(kafka_bootstrap, out_topic, 8, worker, lambda seen: {b"a", b"b"} <= {k for k, _ in seen})
    )
    # Memory store: 6 and 4 can only come from the changelog replayed into the new process.
    assert _latest(after) == {b"a": 6, b"b": 4}


def _latest(totals: list[tuple[bytes, bytes]]) -> dict[bytes, int]:
    """The last total of each counted key (probes left out)."""
    return {key: int(value) for key, value in totals if not key.startswith(b"probe-")}
