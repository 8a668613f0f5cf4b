"""Wires the reporting service: settings, database, clock, branch rules, API app, consumer, outbox relay."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from services.reporting.api import routers
from services.reporting.settings import ReportingSettings
from services.reporting.store import Outbox
from services.reporting.worker import BulletinSchedule, RenamedTopics, ReportingEventsHandler
from shared.auth import AuthSettings
from shared.branch_config import DEFAULT_BRANCH, BranchPolicies
from shared.bus import ConsumerSettings, EventConsumer
from shared.clock import Clock
from shared.db import upgrade_database
from shared.events import Topic
from shared.http.settings import HttpSettings
from shared.outbox import OutboxRelay
from shared.policy.branch import BranchConfigError
from shared.policy.hot_spots import HotSpotRules
from shared.runtime import ServiceSettings
from shared.service import ServiceCore, consumer_health, core_parts, service_api

SERVICE = "reporting"
MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class ReportingService(ServiceCore):
    """Everything one process of the service shares."""

    NAME = SERVICE
    OUTBOX = Outbox
    READY_QUERY = "SELECT 1 FROM processed_events LIMIT 1"

    reporting: ReportingSettings
    branches: BranchPolicies = field(default_factory=BranchPolicies)

    def hot_spot_rules(self, branch: str) -> HotSpotRules:
        """The branch file's `[hot_spots]`; the policy defaults for a branch with no file (RULES.md §7)."""
        try:
            return self.branches.branch(branch).hot_spots
        except BranchConfigError:
            return HotSpotRules()


def build_service(
    settings: ServiceSettings | None = None,
    reporting: ReportingSettings | None = None,
    *,
    database_url: str | None = None,
    clock: Clock | None = None,
) -> ReportingService:
    return ReportingService(
        **core_parts(SERVICE, settings, database_url=database_url, clock=clock),
        reporting=reporting or ReportingSettings(),
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
    return service_api(
        service,
        *routers(),
        auth=auth,
        http=http,
        state={
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
    return consumer_health(service, consumer)
