"""Create and delete topics with explicit partition counts (tests, benchmarks, local set-up)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Mapping

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from hotline.infra.process import InfraError


def unique_topic_name(prefix: str) -> str:
    """`prefix` made topic-safe plus a random suffix, so no two tests or runs share a topic."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", prefix).strip("-.")[:180] or "topic"
    return f"{safe}-{uuid.uuid4().hex[:10]}"


async def create_topics(
    bootstrap: str,
    partitions_by_topic: Mapping[str, int],
    *,
    replication_factor: int = 1,
    ready_within: float = 30.0,
) -> None:
    """Create the topics and wait until the broker's metadata shows every partition."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        wanted = [NewTopic(name, count, replication_factor) for name, count in partitions_by_topic.items()]
        response = await admin.create_topics(wanted, timeout_ms=int(ready_within * 1000))
        failures = [
            f"{topic}: error {code} {message or ''}".strip()
            for topic, code, *rest in response.topic_errors
            for message in [rest[0] if rest else None]
            if code not in (0, TopicAlreadyExistsError.errno)
        ]
        if failures:
            raise InfraError("could not create topics: " + "; ".join(failures))
        await _wait_for_partitions(admin, partitions_by_topic, ready_within)
    finally:
        await admin.close()


async def _wait_for_partitions(admin: AIOKafkaAdminClient, wanted: Mapping[str, int], ready_within: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ready_within
    while True:
        described = await admin.describe_topics(list(wanted))
        counts = {
            topic["topic"]: len(topic["partitions"])
            for topic in described
            if topic.get("error_code", 0) == 0 and all(p.get("leader", -1) >= 0 for p in topic["partitions"])
        }
        missing = {name: n for name, n in wanted.items() if counts.get(name) != n}
        if not missing:
            return
        if loop.time() >= deadline:
            raise InfraError(f"topics not ready after {ready_within:.0f} s: {missing} (have {counts})")
        await asyncio.sleep(0.1)


async def delete_topics(bootstrap: str, topics: list[str]) -> None:
    if not topics:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(topics)
    finally:
        await admin.close()
