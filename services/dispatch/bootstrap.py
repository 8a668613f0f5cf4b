"""Wires the dispatch service: settings, database, org seeding, clock, storage, notifier, API app and worker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.dispatch.api import conflict_handler, routers
from services.dispatch.handlers import DispatchContext
from services.dispatch.lifecycle import IllegalTransition, StaleVersion
from services.dispatch.notify import load_notifier
from services.dispatch.routing import load_org_file, org_branches, org_file_for
from services.dispatch.settings import DispatchSettings
from services.dispatch.sms import SmsNotifier
from services.dispatch.store import Outbox, SmsMessage, has_org, save_org
from services.dispatch.worker import DispatchWorker
from shared import topics as shared_topics
from shared.auth import AuthSettings
from shared.branch_config import BranchPolicies, is_configured_branch
from shared.bus import BrokerProbe, ConsumerSettings, EventConsumer
from shared.clock import Clock
from shared.db import transaction, upgrade_database
from shared.events import Topic
from shared.http.app import create_app, create_worker_app
from shared.http.policies import policies_reload_router
from shared.http.settings import HttpSettings
from shared.outbox import OutboxRelay, RenamingSender
from shared.runtime import ServiceSettings, Task
from shared.service import ServiceCore, core_parts
from shared.sms import SmsSender, SmsSettings, build_sender
from shared.sms.api import sms_router
from shared.storage import LocalDirectoryStorage
from shared.topics import TopicSpec

log = structlog.get_logger(__name__)

SERVICE = "dispatch"
MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class DispatchService(ServiceCore):
    """Everything one dispatch process runs, built by `build` and never at import."""

    NAME = SERVICE
    OUTBOX = Outbox

    dispatch: DispatchSettings
    ctx: DispatchContext
    stoppables: list[Any] = field(default_factory=list)
    sms: SmsSettings | None = None
    sms_sender: SmsSender | None = None  # runs in the worker when the notifier is "sms"

    @property
    def topic_names(self) -> dict[str, str]:
        return {
            Topic.TICKETS.value: self.dispatch.topic_tickets,
            Topic.NOTIFICATIONS.value: self.dispatch.topic_notifications,
        }

    async def prepare(self, *, migrate: bool = True) -> None:
        """Migrate the database (in a thread: Alembic runs its own loop) and seed missing org trees."""
        if migrate:
            await asyncio.to_thread(upgrade_database, self.database_url, MIGRATIONS)
        if self.dispatch.seed_orgs:
            await seed_orgs(self.sessions)

    def api_app(self, relay: OutboxRelay | None = None, *, auth: AuthSettings | None = None) -> FastAPI:
        # base64 JSON inflates a file by 4/3: the body limit follows the attachment limit
        http = HttpSettings()
        body_limit = max(http.max_body_bytes, self.dispatch.max_attachment_bytes * 4 // 3 + 64 * 1024)
        app = create_app(
            SERVICE,
            http.model_copy(update={"max_body_bytes": body_limit}),
            *routers(),
            *self._sms_routers(),
            policies_reload_router(),
            auth=auth or AuthSettings(),
            readiness={"database": self.database_ready},
            branch_known=is_configured_branch,
            metrics_refresh=[self.outbox_pending],
            state={
                "sessions": self.sessions,
                "clock": self.ctx.clock,
                "policies": self.ctx.policies,
                "dispatch": self.ctx,
                "relay": relay,
            },
        )
        app.add_exception_handler(IllegalTransition, conflict_handler)
        app.add_exception_handler(StaleVersion, conflict_handler)
        return app

    def _sms_routers(self) -> list[Any]:
        if self.sms is None:
            return []
        secret = self.sms.dlr_secret.get_secret_value() if self.sms.dlr_secret else None
        return [
            sms_router(
                SERVICE,
                SmsMessage,
                lambda request: self.sessions,
                lambda request: self.ctx.clock,
                secret,
                on_requeued=lambda request: self.sms_sender.notify() if self.sms_sender else None,
            )
        ]

    def relay(self, producer: AIOKafkaProducer) -> OutboxRelay:
        sender = RenamingSender(producer, self.topic_names)
        return OutboxRelay(SERVICE, self.sessions, Outbox, sender, self.ctx.clock)

    def consumer(
        self,
        producer: AIOKafkaProducer,
        relay: OutboxRelay | None,
        client_id: str = "dispatch",
        *,
        worker: DispatchWorker | None = None,
        max_batch: int = 500,
        retry_delay: float = 0.5,
    ) -> EventConsumer:
        worker = worker or DispatchWorker(self.sessions, self.ctx, relay)
        consumer_settings = ConsumerSettings(
            bootstrap=self.settings.kafka_bootstrap,
            group_id=self.dispatch.consumer_group,
            topics=[self.dispatch.topic_tickets, self.dispatch.topic_notifications],
            client_id=client_id,
            max_batch=max_batch,
            retry_delay=retry_delay,
        )
        return EventConsumer(
            SERVICE, consumer_settings, worker.handle, producer, self.ctx.clock, on_given_up=worker.on_given_up
        )

    def worker_app(self, consumer: EventConsumer, *, auth: AuthSettings | None = None) -> FastAPI:
        async def consuming() -> bool:
            return await consumer.holding_partitions()

        return create_worker_app(
            SERVICE,
            readiness={
                "database": self.database_ready,
                "broker": BrokerProbe(self.settings.kafka_bootstrap).check,
                "consumer": consuming,
            },
            metrics_refresh=[self.outbox_pending, consumer.record_lag, *self._sms_metrics()],
            auth=auth or AuthSettings(),
        )

    def _sms_metrics(self) -> list[Any]:
        return [self.sms_sender.failed_open] if self.sms_sender is not None else []

    async def close(self) -> None:
        if self.sms_sender is not None:
            await self.sms_sender.close()
        await self.engine.dispose()


async def ensure_topics(bootstrap: str, topics: Sequence[str], partitions: int) -> None:
    """Create the topics the worker reads and writes when missing (the broker's default count would not scale)."""
    await shared_topics.ensure_topics(bootstrap, dict.fromkeys(topics, TopicSpec()), default_partitions=partitions)


async def seed_orgs(sessions: async_sessionmaker[AsyncSession], branches: Sequence[str] | None = None) -> list[str]:
    """Load the org file of every branch (or of `branches`) that has no org tree in the database yet."""
    seeded: list[str] = []
    for branch in branches if branches is not None else org_branches():
        path = org_file_for(branch)
        if path is None:
            continue
        async with transaction(sessions) as session:
            if await has_org(session, branch):
                continue
            await save_org(session, load_org_file(path, branch))
        seeded.append(branch)
        log.info("org_tree_seeded", branch=branch, file=str(path))
    return seeded


def build(
    settings: ServiceSettings | None = None,
    dispatch: DispatchSettings | None = None,
    *,
    clock: Clock | None = None,
    database_url: str | None = None,
    sms: SmsSettings | None = None,
) -> DispatchService:
    """Wire one dispatch process (tests pass their own clock and database)."""
    core = core_parts(SERVICE, settings, database_url=database_url, clock=clock)
    settings, sessions, clock = core["settings"], core["sessions"], core["clock"]
    dispatch = dispatch or DispatchSettings()
    attachments = dispatch.attachments_dir or settings.state_dir / "dispatch-attachments"
    sms_settings, sender = None, None
    if dispatch.notifier == "sms":
        sms_settings = sms or SmsSettings()
        sender = build_sender(SERVICE, sessions, SmsMessage, sms_settings, clock)
        notifier: Any = SmsNotifier(sessions, clock, sender.notify)
    else:
        notifier = load_notifier(dispatch.notifier)
    ctx = DispatchContext(
        clock=clock,
        policies=BranchPolicies(),
        storage=LocalDirectoryStorage(attachments),
        notifier=notifier,
        max_attachment_bytes=dispatch.max_attachment_bytes,
        max_attachments_per_reply=dispatch.max_attachments_per_reply,
    )
    return DispatchService(**core, dispatch=dispatch, ctx=ctx, sms=sms_settings, sms_sender=sender)


class _SecondaryServer(uvicorn.Server):
    """A uvicorn server that leaves the signals to the process's main server (shared.runtime.serve)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def http_task(app: FastAPI, host: str, port: int) -> Task:
    """A second HTTP server in the same process (the worker's health port when role is `all`)."""

    async def run(stop: asyncio.Event) -> None:
        server = _SecondaryServer(uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False))
        serving = asyncio.create_task(server.serve())
        await stop.wait()
        server.should_exit = True
        await serving

    return run
