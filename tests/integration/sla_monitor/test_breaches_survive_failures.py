"""Kill -9 while timers fall due, and a rebalance between two workers: every breach once, none lost."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.sla_monitor.harness import (
    MonitorProcess,
    monitor_env,
    read_breaches,
    seen_messages,
    send_tickets,
)

PARTITIONS = 4


@pytest.fixture
def topics(new_topic):  # type: ignore[no-untyped-def]
    async def make() -> tuple[str, str, str]:
        return (
            await new_topic(partitions=PARTITIONS, prefix="sla-tickets"),
            await new_topic(partitions=1, prefix="sla-out"),
            await new_topic(partitions=PARTITIONS, prefix="sla-ticks"),
        )

    return asyncio.run(make())


def _assert_each_once(breaches: dict[tuple[str, str], set[str]], ids: list[str], *workers: MonitorProcess) -> None:
    missing = sorted(set(ids) - {ticket for ticket, _ in breaches})
    logs = "\n".join(w.log_tail() for w in workers)
    assert not missing, f"{len(missing)} timers never breached, e.g. {missing[:5]}\n{logs}"
    doubled = {key: ids_ for key, ids_ in breaches.items() if len(ids_) != 1}
    assert not doubled, f"breaches with more than one event id: {list(doubled.items())[:5]}"
    assert {clock for _, clock in breaches} == {"dispatch"}


def test_kill_9_while_timers_fall_due_loses_and_doubles_no_breach(kafka_bootstrap, topics, tmp_path: Path):
    tickets, sla, ticks = topics
    env = monitor_env(kafka_bootstrap, tickets, sla, ticks, f"sla-it-{uuid.uuid4().hex[:8]}")
    worker = MonitorProcess(env, tmp_path / "state", tmp_path / "worker.log")
    worker.start()
    try:
        worker.wait_ready()
        start = datetime.now(UTC) + timedelta(seconds=8)
        due = [start + timedelta(seconds=i * 0.1) for i in range(300)]  # 30 s of timers falling due
        ids = asyncio.run(send_tickets(kafka_bootstrap, tickets, due, "kill"))
        time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()) + 10)
        worker.kill()  # about a third have fired; the rest fall due while no worker runs
        time.sleep(5)
        worker.start()  # same local state folder: RocksDB kept, the changelog fills the rest
        breaches = asyncio.run(read_breaches(kafka_bootstrap, sla, len(ids), within=150))
        _assert_each_once(breaches, ids, worker)
        print(f"breach messages {seen_messages[sla]} for {len(breaches)} timers")  # noqa: T201
    finally:
        worker.stop()


def test_two_workers_sharing_partitions_double_no_breach_across_a_rebalance(kafka_bootstrap, topics, tmp_path: Path):
    tickets, sla, ticks = topics
    env = monitor_env(kafka_bootstrap, tickets, sla, ticks, f"sla-it-{uuid.uuid4().hex[:8]}")
    first = MonitorProcess(env, tmp_path / "one", tmp_path / "one.log")
    second = MonitorProcess(env, tmp_path / "two", tmp_path / "two.log")
    first.start()
    try:
        first.wait_ready()
        start = datetime.now(UTC) + timedelta(seconds=8)
        due = [start + timedelta(seconds=i * 0.1) for i in range(300)]
        ids = asyncio.run(send_tickets(kafka_bootstrap, tickets, due, "share"))
        time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()) + 5)
        second.start()  # the group rebalances while timers keep falling due
        time.sleep(12)
        first.stop()  # and again when the first one leaves: the second takes every partition
        breaches = asyncio.run(read_breaches(kafka_bootstrap, sla, len(ids), within=150))
        _assert_each_once(breaches, ids, first, second)
    finally:
        first.stop()
        second.stop()
