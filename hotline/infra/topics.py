"""Create and delete topics with explicit partition counts (tests, benchmarks, local set-up)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping

from aiokafka.admin import AIOKafkaAdminClient

from hotline.infra.process import InfraError
from shared.topics import TopicsNotReady, ensure_topics


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
    try:
        await ensure_topics(
            bootstrap, partitions_by_topic, replication_factor=replication_factor, ready_within=ready_within
        )
    except TopicsNotReady as error:
        raise InfraError(str(error)) from error


async def delete_topics(bootstrap: str, topics: list[str]) -> None:
    if not topics:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(topics)
    finally:
        await admin.close()
