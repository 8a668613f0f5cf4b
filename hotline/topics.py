"""Topics as code: every topic of the product, declared once, applied by `hotline topics apply`.

The declaration has the product topics (`shared.events.Topic`) with their retention, the SLA monitor's tick
topic, and every topic of each stream processor (its tables' changelogs, its repartition and leader topics),
taken from the Faust apps themselves (`StreamApp.required_topics`), so a cluster never depends on
auto-creation and a new table cannot be forgotten here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.clock import SystemClock
from shared.events import Topic
from shared.topics import TopicSpec, ensure_topics

DAY_MS = 24 * 60 * 60 * 1000
# The ticket and SLA logs are kept whole: the reporting store is rebuilt from their beginning, and a
# consumer group that is new (or reset) reads every ticket's history from them.
PRODUCT_TOPICS: Mapping[str, Mapping[str, str]] = {
    Topic.TICKETS: {"retention.ms": "-1"},
    Topic.SLA: {"retention.ms": "-1"},
    Topic.NOTIFICATIONS: {"retention.ms": str(30 * DAY_MS)},
    Topic.CTI_CALLS: {"retention.ms": str(30 * DAY_MS)},
    Topic.DEADLETTER: {"retention.ms": str(90 * DAY_MS)},  # long enough to fix the cause and replay
    Topic.KNOWLEDGE: {"retention.ms": "-1"},  # every article's workflow history, keyed by article
    Topic.REPORTING: {"retention.ms": str(400 * DAY_MS)},  # hot spots and bulletins: a year and its comparison
}


@dataclass(frozen=True)
class Applied:
    """What `apply` found and did for one topic."""

    name: str
    partitions: int
    action: str  # "created", "configs updated", "ok" (or, with check only, "would create", "would update …")


def declared_topics(partitions: int, replication_factor: int = 1) -> dict[str, TopicSpec]:
    """Every topic of the product with its partition count and configs."""
    extra = {"min.insync.replicas": "2"} if replication_factor >= 3 else {}
    wanted = {
        str(name): TopicSpec(partitions, {**config, **extra}, exact=False) for name, config in PRODUCT_TOPICS.items()
    }
    from services.sla_monitor.bootstrap import TICK_RETENTION_MS
    from services.sla_monitor.settings import MonitorSettings

    # the SLA monitor's clock ticks: co-partitioned with hotline.tickets, worthless after a minute
    wanted[MonitorSettings().tick_topic] = TopicSpec(partitions, {"retention.ms": str(TICK_RETENTION_MS), **extra})
    for app in _stream_apps(partitions):
        for name, spec in app.required_topics().items():
            if name not in wanted:
                wanted[name] = replace(spec, config={**spec.config, **extra})
    return wanted


def _stream_apps(partitions: int) -> list:  # type: ignore[type-arg]
    """The product's Faust apps, built (not started) as their workers build them, to read their topics."""
    from services.intake.app import ComplaintGrading
    from services.intake.handlers import Policies
    from services.intake.settings import IntakeSettings
    from services.sla_monitor.settings import MonitorSettings
    from services.sla_monitor.worker import SlaMonitor
    from shared.branch_config import BranchPolicies

    folder = tempfile.mkdtemp(prefix="hotline-topics-")
    clock = SystemClock()
    bootstrap = "127.0.0.1:1"  # never connected: the apps are only built
    monitor = SlaMonitor(MonitorSettings(), bootstrap, clock, BranchPolicies(), partitions=partitions, datadir=folder)
    grading = ComplaintGrading(
        IntakeSettings().grading(), bootstrap, clock, Policies(), partitions=partitions, datadir=folder
    )
    return [monitor.app, grading.app]


async def apply_topics(
    bootstrap: str, wanted: Mapping[str, TopicSpec], *, replication_factor: int = 1, check_only: bool = False
) -> list[Applied]:
    """Create the missing topics, grow the small ones where allowed, and set each topic's configs as declared."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        present = set(await admin.list_topics())
        current = await _configs(admin, [name for name in wanted if name in present])
    finally:
        await admin.close()
    missing = [name for name in wanted if name not in present]
    drift = {
        name: {key: value for key, value in spec.config.items() if current.get(name, {}).get(key) != value}
        for name, spec in wanted.items()
        if name in present
    }
    drift = {name: changes for name, changes in drift.items() if changes}
    if check_only:
        rows = [Applied(name, wanted[name].partitions or 0, "would create") for name in missing]
        rows += [Applied(name, wanted[name].partitions or 0, f"would update {sorted(c)}") for name, c in drift.items()]
        return sorted(rows, key=lambda row: row.name)
    counts = await ensure_topics(bootstrap, wanted, replication_factor=replication_factor, ready_within=60.0)
    if drift:
        await _alter(bootstrap, {name: {**current[name], **wanted[name].config} for name in drift})
    rows = []
    for name in sorted(wanted):
        action = "created" if name in missing else ("configs updated" if name in drift else "ok")
        rows.append(Applied(name, counts[name], action))
    return rows


async def _configs(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, dict[str, str]]:
    """The topic-level configs set on each topic (not the broker's defaults)."""
    if not names:
        return {}
    resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
    found: dict[str, dict[str, str]] = {name: {} for name in names}
    for response in await admin.describe_configs(resources):
        for _code, _message, _type, name, entries in response.resources:
            for entry in entries:
                key, value, _read_only, source = entry[0], entry[1], entry[2], entry[3]
                # source 1 = DYNAMIC_TOPIC_CONFIG: set on the topic itself (v1+ of DescribeConfigs)
                if source == 1 and value is not None:
                    found[name][key] = value
    return found


async def _alter(bootstrap: str, configs: Mapping[str, Mapping[str, str]]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name, configs=dict(values)) for name, values in configs.items()]
        )
    finally:
        await admin.close()
