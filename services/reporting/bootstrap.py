"""Wires the reporting service: settings, database, clock, branch rules, API app, consumer, outbox relay."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.reporting.api import routers
from services.reporting.settings import ReportingSettings
from services.reporting.store import Outbox
from services.reporting.worker import BulletinSchedule, RenamedTopics, ReportingEventsHandler
from shared.auth import AuthSettings
from shared.branch_config import DEFAULT_BRANCH, BranchPolicies, is_configured_branch
from shared.bus import BrokerProbe, ConsumerSettings, EventConsumer
from shared.clock import Clock
from shared.db import make_engine, make_sessions, upgrade_database
from shared.events import Topic
from shared.http.app import create_app, create_worker_app
from shared.http.settings import HttpSettings
from shared.outbox import OutboxRelay, count_pending
from shared.policy.branch import BranchConfigError
from shared.policy.hot_spots import HotSpotRules
from shared.runtime import ServiceSettings

SERVICE = "reporting"
MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class ReportingService:
    """Everything one process of the service shares."""

    settings: ServiceSettings
    reporting: ReportingSettings
    database_url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    branches: BranchPolicies = field(default_factory=BranchPolicies)

    def hot_spot_rules(self, branch: str) -> HotSpotRules:
        """The branch file's `[hot_spots]`; the policy defaults for a branch with no file (RULES.md §7)."""
        try:
            return self.branches.branch(branch).hot_spots
        except BranchConfigError:
            return HotSpotRules()

    async def database_ready(self) -> bool:
        async with self.sessions() as session:
            await session.execute(text("SELECT 1 FROM processed_events LIMIT 1"))
        return True

    async def outbox_pending(self) -> int:
        return await count_pending(SERVICE, self.sessions, Outbox)

    async def close(self) -> None:
        await self.engine.dispose()


def build_service(
    settings: ServiceSettings | None = None,
    reporting: ReportingSettings | None = None,
    *,
    database_url: str | None = None,
    clock: Clock | None = None,
) -> ReportingService:
    settings = settings or ServiceSettings()
    url = database_url or settings.database_url_for(SERVICE)
    engine = make_engine(url)
    return ReportingService(
        settings=settings,
        reporting=reporting or ReportingSettings(),
        database_url=url,
        engine=engine,
        sessions=make_sessions(engine),
        clock=clock or settings.clock(),
    )


def migrate(url: str) -> None:
    upgrade_database(url, MIGRATIONS)


def build_api(
    service: ReportingService,
    *,
    auth: AuthSettings | None = None,
    http: HttpSettings | None = None,
    relay: OutboxRelay | None = None,
) -> FastAPI:
    """The reporting HTTP API (create_app: every route declares its roles; responses masked)."""
    return create_app(
        SERVICE,
        http or HttpSettings(),
        *routers(),
        auth=auth or AuthSettings(),
        readiness={"database": service.database_ready},
        branch_known=is_configured_branch,
        metrics_refresh=[service.outbox_pending],
        state={
            "sessions": service.sessions,
            "clock": service.clock,
            "reporting_settings": service.reporting,
            "branches": service.branches,
            "relay": relay,
        },
    )


def build_relay(service: ReportingService, producer: AIOKafkaProducer) -> OutboxRelay:
    sender = RenamedTopics(producer, {Topic.REPORTING.value: service.reporting.reporting_topic})
    return OutboxRelay(SERVICE, service.sessions, Outbox, sender, service.clock)


def build_consumer(service: ReportingService, producer: AIOKafkaProducer, relay: OutboxRelay | None) -> EventConsumer:
    settings = ConsumerSettings(
        bootstrap=service.settings.kafka_bootstrap,
        group_id=service.reporting.consumer_group,
        topics=[service.reporting.tickets_topic, service.reporting.sla_topic],
        client_id=f"{SERVICE}-worker",
    )
    handler = ReportingEventsHandler(service.sessions, service.clock, service.hot_spot_rules, relay)
    return EventConsumer(SERVICE, settings, handler, producer, service.clock)


def build_schedule(service: ReportingService, relay: OutboxRelay | None) -> BulletinSchedule:
    branch = service.settings.branch
    return BulletinSchedule(
        service.sessions,
        service.clock,
        relay,
        service.reporting.bulletin_check_seconds,
        branch=branch if branch != DEFAULT_BRANCH else None,  # "default": no branch named, only the store's
        branches=service.branches,
    )


def build_worker_health(service: ReportingService, consumer: EventConsumer) -> FastAPI:
    """The worker's own small HTTP server: liveness, readiness (database, broker, partitions held), metrics."""
    broker = BrokerProbe(service.settings.kafka_bootstrap)
    return create_worker_app(
        SERVICE,
        readiness={"consumer": consumer.holding_partitions, "broker": broker.check, "database": service.database_ready},
        metrics_refresh=[service.outbox_pending, consumer.record_lag],
    )
