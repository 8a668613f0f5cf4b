"""`hotline topics apply` on a real broker: creates what is missing, corrects configs, then finds nothing to do."""

from __future__ import annotations

from hotline.infra.topics import delete_topics, unique_topic_name
from hotline.topics import apply_topics
from shared.topics import TopicSpec

WEEK_MS = str(7 * 24 * 60 * 60 * 1000)


async def test_apply_creates_corrects_and_is_idempotent(kafka_bootstrap, new_topic):
    drifted = await new_topic(3)  # exists, without the declared retention
    fresh = unique_topic_name("topics-apply-fresh")
    wanted = {
        drifted: TopicSpec(3, {"retention.ms": WEEK_MS}, exact=False),
        fresh: TopicSpec(4, {"cleanup.policy": "compact"}),
    }
    try:
        planned = await apply_topics(kafka_bootstrap, wanted, check_only=True)
        assert {(row.name, row.action) for row in planned} == {
            (fresh, "would create"),
            (drifted, "would update ['retention.ms']"),
        }
        applied = await apply_topics(kafka_bootstrap, wanted)
        assert {(row.name, row.partitions, row.action) for row in applied} == {
            (fresh, 4, "created"),
            (drifted, 3, "configs updated"),
        }
        assert await apply_topics(kafka_bootstrap, wanted, check_only=True) == []
        again = await apply_topics(kafka_bootstrap, wanted)
        assert {row.action for row in again} == {"ok"}
    finally:
        await delete_topics(kafka_bootstrap, [fresh])
