"""Wires the SLA monitor: settings, clock, policy book, topics, the Faust app and the HTTP app; nothing at import."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from fastapi import FastAPI

from services.sla_monitor.api import router
from services.sla_monitor.policies import PolicyBook
from services.sla_monitor.worker import SERVICE, MonitorSettings, SlaMonitor
from shared.auth.settings import AuthSettings
from shared.http.app import create_app
from shared.http.settings import HttpSettings
from shared.runtime import ServiceSettings

log = structlog.get_logger(__name__)

TICK_RETENTION_MS = 60 * 60 * 1000  # ticks are worthless after a minute; keep an hour for inspection


async def ensure_topics(bootstrap: str, settings: MonitorSettings, default_partitions: int) -> int:
    """hotline.tickets' partition count (creating the topic if absent) and a tick topic co-partitioned with it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for _ in range(3):
            described = await admin.describe_topics([settings.tickets_topic])
            meta = described[0] if described else {}
            if meta.get("error_code", 0) == 0 and meta.get("partitions"):
                partitions = len(meta["partitions"])
                break
            try:
                await admin.create_topics([NewTopic(settings.tickets_topic, default_partitions, 1)])
            except Exception as error:  # created meanwhile by someone else
                log.info("tickets_topic_exists", error=repr(error))
            await asyncio.sleep(1)
        else:
            raise RuntimeError(f"topic {settings.tickets_topic} is not available")
        ticks = await admin.describe_topics([settings.tick_topic])
        tick_meta = ticks[0] if ticks else {}
        if tick_meta.get("error_code", 0) != 0 or not tick_meta.get("partitions"):
            try:
                await admin.create_topics(
                    [
                        NewTopic(
                            settings.tick_topic,
                            partitions,
                            1,
                            topic_configs={"retention.ms": str(TICK_RETENTION_MS)},
                        )
                    ]
                )
            except Exception as error:
                log.info("tick_topic_exists", error=repr(error))
        elif len(tick_meta["partitions"]) != partitions:
            raise RuntimeError(
                f"{settings.tick_topic} has {len(tick_meta['partitions'])} partitions, "
                f"{settings.tickets_topic} {partitions}: they must be co-partitioned"
            )
        return partitions
    finally:
        await admin.close()


@dataclass
class SlaMonitorService:
    """The running pieces of one process."""

    settings: ServiceSettings
    monitor: SlaMonitor
    http: FastAPI


def build_http(monitor: SlaMonitor) -> FastAPI:
    async def worker_running() -> bool:
        return bool(monitor.app.started)

    return create_app(
        SERVICE,
        HttpSettings(),
        router,
        auth=AuthSettings(),
        readiness={"faust": worker_running},
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
        PolicyBook(),
        partitions=partitions,
        datadir=str(datadir),
    )
    return SlaMonitorService(settings, monitor, build_http(monitor))
