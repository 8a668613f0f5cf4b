"""Topic creation, once for every service and tool: create what is missing, check counts, wait for the metadata."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.errors import InvalidPartitionsError, TopicAlreadyExistsError

log = structlog.get_logger(__name__)


class TopicsNotReady(RuntimeError):
    """A topic could not be created, has the wrong partition count, or did not show in the metadata in time."""


@dataclass(frozen=True)
class TopicSpec:
    """What one topic must be: its partition count and the configs it is created with.

    `partitions=None` takes the topic as it is (creating it with the default count when absent).
    `exact` wants that very count (a changelog must match its source's), else at least that many;
    `grow` lets a topic found smaller be grown (one a producer's auto-create made with one partition);
    any other wrong size is refused.
    """

    partitions: int | None = None
    config: Mapping[str, str] = field(default_factory=dict)
    exact: bool = True
    grow: bool = False

    def fits(self, have: int) -> bool:
        if self.partitions is None:
            return True
        return have == self.partitions if self.exact else have >= self.partitions


async def ensure_topics(
    bootstrap: str,
    wanted: Mapping[str, TopicSpec | int],
    *,
    default_partitions: int = 6,
    replication_factor: int = 1,
    ready_within: float = 30.0,
) -> dict[str, int]:
    """Create the missing topics, grow or refuse the ones of the wrong size, and wait until the broker's
    metadata shows every partition of every topic with a leader; returns each topic's partition count.

    A consumer that subscribes before its topics show in the metadata sees them with no partitions
    (a Faust table then fails with PartitionsMismatch), so nothing may subscribe before this returns.
    """
    specs = {name: spec if isinstance(spec, TopicSpec) else TopicSpec(spec) for name, spec in wanted.items()}
    if not specs:
        return {}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(ready_within * 1000))
    await admin.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ready_within
        while True:
            counts, leaderless = await _describe(admin, list(specs))
            missing = [name for name in specs if name not in counts]
            wrong = {
                name: counts[name] for name, spec in specs.items() if name in counts and not spec.fits(counts[name])
            }
            refused = {name: n for name, n in wrong.items() if not _may_grow(specs[name], n)}
            if refused:
                detail = ", ".join(
                    f"{n} has {have}, not {specs[n].partitions} partitions" for n, have in refused.items()
                )
                raise TopicsNotReady(f"topics of the wrong size: {detail}")
            if not missing and not wrong and not leaderless:
                return counts
            if missing:
                await _create(admin, specs, missing, default_partitions, replication_factor)
            small = {name: NewPartitions(_count(specs[name], default_partitions)) for name in wrong}
            if small:
                log.warning("topics_grown", topics=sorted(small))
                try:
                    await admin.create_partitions(small)
                except InvalidPartitionsError:
                    pass  # the metadata described was stale: the topic has them already; look again
            if loop.time() >= deadline:
                raise TopicsNotReady(
                    f"topics not ready after {ready_within:.0f} s: missing {missing}, wrong size {wrong}, "
                    f"without a leader {sorted(leaderless)}"
                )
            await asyncio.sleep(0.1)
    finally:
        await admin.close()


def _may_grow(spec: TopicSpec, have: int) -> bool:
    return spec.grow and spec.partitions is not None and have < spec.partitions


def _count(spec: TopicSpec, default: int) -> int:
    return spec.partitions if spec.partitions is not None else default


async def _describe(admin: AIOKafkaAdminClient, names: list[str]) -> tuple[dict[str, int], set[str]]:
    counts: dict[str, int] = {}
    leaderless: set[str] = set()
    # describing a topic that does not exist yet would auto-create it with the broker's default size
    present = set(await admin.list_topics())
    known = [name for name in names if name in present]
    if not known:
        return counts, leaderless
    for meta in await admin.describe_topics(known):
        if meta.get("error_code", 0) != 0 or not meta.get("partitions"):
            continue
        counts[meta["topic"]] = len(meta["partitions"])
        if any(p.get("leader", -1) < 0 for p in meta["partitions"]):
            leaderless.add(meta["topic"])
    return counts, leaderless


async def _create(
    admin: AIOKafkaAdminClient,
    specs: Mapping[str, TopicSpec],
    names: list[str],
    default_partitions: int,
    replication_factor: int,
) -> None:
    topics = [
        NewTopic(
            name,
            _count(specs[name], default_partitions),
            replication_factor,
            topic_configs=dict(specs[name].config) or None,
        )
        for name in names
    ]
    response = await admin.create_topics(topics)
    failures = [
        f"{topic}: error {code}"
        for topic, code, *_ in response.topic_errors
        if code not in (0, TopicAlreadyExistsError.errno)  # made meanwhile by another process: fine
    ]
    if failures:
        raise TopicsNotReady("could not create topics: " + "; ".join(failures))
    log.info("topics_created", topics=names)
