"""Wires the knowledge service: settings, database, clock, search engine, API app, outbox relay."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from services.knowledge.api import routers
from services.knowledge.search import SearchEngine
from services.knowledge.settings import KnowledgeMetrics, KnowledgeSettings
from services.knowledge.store import Outbox
from services.knowledge.worker import knowledge_relay
from shared.auth import AuthSettings
from shared.branch_config import BranchPolicies, config_dirs
from shared.bus import BrokerProbe
from shared.clock import Clock
from shared.db import upgrade_database
from shared.http.app import create_worker_app
from shared.http.settings import HttpSettings
from shared.outbox import OutboxRelay, Sender
from shared.policy.branch import BranchConfigError
from shared.runtime import ServiceSettings
from shared.service import ServiceCore, core_parts, service_api
from shared.storage import AttachmentStorage, LocalDirectoryStorage

SERVICE = "knowledge"
MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")


@dataclass
class KnowledgeService(ServiceCore):
    """Everything one process of the service shares."""

    NAME = SERVICE
    OUTBOX = Outbox
    READY_QUERY = "SELECT 1 FROM search_documents LIMIT 1"

    knowledge: KnowledgeSettings
    search: SearchEngine
    storage: AttachmentStorage
    branches: BranchPolicies = field(default_factory=BranchPolicies)

    def zone_of(self, branch: str) -> tzinfo:
        """The branch's time zone (review-by dates are days there); the default zone for a branch with no file."""
        try:
            return self.branches.branch(branch).timezone
        except BranchConfigError:
            return DEFAULT_ZONE


def build_service(
    settings: ServiceSettings | None = None,
    knowledge: KnowledgeSettings | None = None,
    *,
    database_url: str | None = None,
    clock: Clock | None = None,
) -> KnowledgeService:
    core = core_parts(SERVICE, settings, database_url=database_url, clock=clock)
    knowledge = knowledge or KnowledgeSettings()
    attachments = knowledge.attachments_dir or core["settings"].state_dir / "knowledge-attachments"
    return KnowledgeService(
        **core,
        knowledge=knowledge,
        search=SearchEngine(config_dirs=config_dirs()[:1]),
        storage=LocalDirectoryStorage(attachments),
    )


def migrate(url: str) -> None:
    upgrade_database(url, MIGRATIONS)


def build_api(
    service: KnowledgeService,
    *,
    auth: AuthSettings | None = None,
    http: HttpSettings | None = None,
    relay: OutboxRelay | None = None,
) -> FastAPI:
    """The knowledge HTTP API (create_app: every route declares its roles)."""
    app = service_api(
        service,
        *routers(),
        auth=auth,
        http=http,
        state={
            "knowledge_settings": service.knowledge,
            "search": service.search,
            "zone_of": service.zone_of,
            "relay": relay,
            "storage": service.storage,
        },
    )
    app.state.knowledge_metrics = KnowledgeMetrics(app.state.metrics.registry)
    return app


def build_relay(service: KnowledgeService, producer: Sender) -> OutboxRelay:
    return knowledge_relay(SERVICE, service.sessions, producer, service.clock, service.knowledge.knowledge_topic)


def build_worker_health(service: KnowledgeService) -> FastAPI:
    """The relay process's own server: liveness, readiness (broker and database answer), metrics."""
    broker = BrokerProbe(service.settings.kafka_bootstrap)
    return create_worker_app(
        SERVICE,
        readiness={"broker": broker.check, "database": service.database_ready},
        metrics_refresh=[service.outbox_pending],
    )
