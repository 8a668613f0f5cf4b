"""Wires the SLA monitor: settings, clock, policy book, topics, the Faust app and the HTTP app; nothing at import."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from fastapi import FastAPI

from services.sla_monitor.api import router
from services.sla_monitor.settings import SERVICE, MonitorSettings
from services.sla_monitor.worker import SlaMonitor
from shared import topics as shared_topics
from shared.auth.settings import AuthSettings
from shared.branch_config import BranchPolicies, is_configured_branch
from shared.bus import BrokerProbe
from shared.http.app import create_app
from shared.http.settings import HttpSettings
from shared.runtime import ServiceSettings
from shared.topics import TopicSpec

log = structlog.get_logger(__name__)

TICK_RETENTION_MS = 60 * 60 * 1000  # ticks are worthless after a minute; keep an hour for inspection


async def ensure_topics(bootstrap: str, settings: MonitorSettings, default_partitions: int) -> int:
    """hotline.tickets' partition count (creating the topic if absent) and a tick topic co-partitioned with it."""
    counts = await shared_topics.ensure_topics(
        bootstrap, {settings.tickets_topic: TopicSpec()}, default_partitions=default_partitions
    )
    partitions = counts[settings.tickets_topic]
    ticks = TopicSpec(partitions, {"retention.ms": str(TICK_RETENTION_MS)})
    await shared_topics.ensure_topics(bootstrap, {settings.tick_topic: ticks})
    return partitions


@dataclass
class SlaMonitorService:
    """The running pieces of one process."""

    settings: ServiceSettings
    monitor: SlaMonitor
    http: FastAPI


def build_http(monitor: SlaMonitor) -> FastAPI:
    return create_app(
        SERVICE,
        HttpSettings(),
        router,
        auth=AuthSettings(),
        # holds its partitions, recovered and caught up; and the broker answers now
        readiness={"faust": monitor.app.ready, "broker": BrokerProbe(monitor.kafka_bootstrap).check},
        branch_known=is_configured_branch,
        state={"monitor": monitor},
        role="all",  # the Faust worker and its read API in one process
    )


async def bootstrap(
    settings: ServiceSettings | None = None, monitor_settings: MonitorSettings | None = None
) -> SlaMonitorService:
    settings = settings or ServiceSettings()
    monitor_settings = monitor_settings or MonitorSettings()
    partitions = await ensure_topics(settings.kafka_bootstrap, monitor_settings, settings.partitions)
    datadir = settings.state_dir / SERVICE
    datadir.mkdir(parents=True, exist_ok=True)
    monitor = SlaMonitor(
        monitor_settings,
        settings.kafka_bootstrap,
        settings.clock(),
        BranchPolicies(),
        partitions=partitions,
        datadir=str(datadir),
    )
    return SlaMonitorService(settings, monitor, build_http(monitor))
