"""The SLA monitor process starts only on its own topics (issue 13, item 1): its changelogs are there, co-partitioned
with hotline.tickets, before it says ready; a changelog of another size ends the process non-zero."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from hotline.infra.topics import delete_topics
from shared.topics import TopicSpec, ensure_topics
from tests.integration.sla_monitor.harness import MonitorProcess, monitor_env

pytestmark = pytest.mark.integration
PARTITIONS = 4
TABLES = ("timers_by_ticket", "due_index", "partition_state")


@pytest.fixture
def topics(new_topic):  # type: ignore[no-untyped-def]
    async def make() -> tuple[str, str, str]:
        return (
            await new_topic(partitions=PARTITIONS, prefix="sla-start-tickets"),
            await new_topic(partitions=1, prefix="sla-start-out"),
            await new_topic(partitions=PARTITIONS, prefix="sla-start-ticks"),
        )

    return asyncio.run(make())


async def partition_counts(bootstrap: str, names: list[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        present = set(await admin.list_topics())
        known = [name for name in names if name in present]
        described = await admin.describe_topics(known) if known else []
        return {t["topic"]: len(t["partitions"]) for t in described if not t["error_code"]}
    finally:
        await admin.close()


def ready(worker: MonitorProcess) -> bool:
    url = f"http://127.0.0.1:{worker.env['HOTLINE_WORKER_PORT']}/health/ready"
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_ready_only_once_every_changelog_exists_with_the_tickets_partition_count(
    kafka_bootstrap: str, topics: tuple[str, str, str], tmp_path: Path
) -> None:
    tickets, sla, ticks = topics
    app_id = f"sla-start-{uuid.uuid4().hex[:8]}"
    changelogs = [f"{app_id}-{table}-changelog" for table in TABLES]
    worker = MonitorProcess(monitor_env(kafka_bootstrap, tickets, sla, ticks, app_id), tmp_path, tmp_path / "w.log")
    worker.start()
    try:
        end = time.monotonic() + 90
        while not ready(worker):
            assert worker.alive(), worker.log_tail()
            assert time.monotonic() < end, f"not ready in 90 s\n{worker.log_tail()}"
            time.sleep(0.3)
        counts = asyncio.run(partition_counts(kafka_bootstrap, changelogs))
        assert counts == dict.fromkeys(changelogs, PARTITIONS), worker.log_tail()
        assert "PartitionsMismatch" not in worker.log_path.read_text()
    finally:
        worker.stop()
        asyncio.run(delete_topics(kafka_bootstrap, [*changelogs, f"{app_id}-__assignor-__leader"]))


def test_a_changelog_of_another_size_ends_the_process_non_zero_and_it_is_never_ready(
    kafka_bootstrap: str, topics: tuple[str, str, str], tmp_path: Path
) -> None:
    tickets, sla, ticks = topics
    app_id = f"sla-start-{uuid.uuid4().hex[:8]}"
    wrong = f"{app_id}-timers_by_ticket-changelog"
    asyncio.run(ensure_topics(kafka_bootstrap, {wrong: TopicSpec(1)}))  # e.g. auto-created by a stray client
    worker = MonitorProcess(monitor_env(kafka_bootstrap, tickets, sla, ticks, app_id), tmp_path, tmp_path / "w.log")
    worker.start()
    try:
        assert worker.process is not None
        end = time.monotonic() + 90
        while worker.alive():
            assert not ready(worker), "ready on a changelog that cannot match hotline.tickets"
            assert time.monotonic() < end, f"still running after 90 s\n{worker.log_tail()}"
            time.sleep(0.3)
        assert worker.process.returncode not in (0, None), worker.log_tail()
        assert wrong in worker.log_path.read_text()  # the log names the topic
    finally:
        worker.stop()
        asyncio.run(delete_topics(kafka_bootstrap, [wrong]))
