"""A partition reassignment through the Kafka admin protocol (AlterPartitionReassignments, KIP-455).

With three replicas on three brokers a reassignment can only reorder them: the first replica becomes the preferred
leader, and the cluster (leader.imbalance.check.interval.seconds) moves the leadership there.
"""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.protocol.admin import AlterPartitionReassignmentsRequest, ListPartitionReassignmentsRequest


async def reassign_rotating(
    bootstrap: str, topic: str, partition: int, within: float = 120.0
) -> tuple[list[int], list[int]]:
    """Rotate the partition's replica list by one; wait until no reassignment is in progress. (before, after).

    A request that times out (a node still starting after an earlier fault) is asked again until `within` passes.
    """
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            return await _reassign(bootstrap, topic, partition, deadline)
        except (KafkaError, TimeoutError) as error:
            if asyncio.get_running_loop().time() >= deadline:
                raise RuntimeError(f"reassignment of {topic}:{partition} not done: {error!r}") from error
            await asyncio.sleep(2.0)


async def _reassign(bootstrap: str, topic: str, partition: int, deadline: float) -> tuple[list[int], list[int]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
        partitions = {p["partition"]: p for p in described[0]["partitions"]}
        before = [int(r) for r in partitions[partition]["replicas"]]
        after = before[1:] + before[:1]
        request = AlterPartitionReassignmentsRequest(10_000, [(topic, [(partition, after, {})], {})], {})
        response = await admin._send_to_controller(request)
        errors = [(p[1], p[2]) for t in response.responses for p in t[1] if p[1] != 0] + (
            [(response.error_code, response.error_message)] if response.error_code else []
        )
        if errors:
            raise RuntimeError(f"reassignment of {topic}:{partition} refused: {errors}")
        while asyncio.get_running_loop().time() < deadline:
            listed = await admin._send_to_controller(ListPartitionReassignmentsRequest(10_000, None, {}))
            if not listed.topics:
                return before, after
            await asyncio.sleep(0.5)
        raise RuntimeError(f"reassignment of {topic}:{partition} still in progress")
    finally:
        await admin.close()
