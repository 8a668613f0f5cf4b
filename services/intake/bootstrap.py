"""Wires intake: settings, database, clock, policies, the API app, the relay and the consumer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.intake.api import calls, customers, db_session, photos, tickets
from services.intake.app import ComplaintGrading
from services.intake.handlers import Policies
from services.intake.references import Directory, DispatchDirectory
from services.intake.settings import GradingSettings, IntakeSettings, TopicNames
from services.intake.store import AUDIT, SERVICE, Outbox
from services.intake.worker import CONSUMED_TOPICS, GROUP_ID, ViewBuilder
from services.intake.writer import CreateWriter
from shared import topics as shared_topics
from shared.auth import AuthSettings, VerificationPolicy, audit_router
from shared.branch_config import is_configured_branch, load_calendar
from shared.bus import BrokerProbe, ConsumerSettings, EventConsumer, make_producer
from shared.clock import Clock
from shared.db import make_engine, make_sessions, upgrade_database
from shared.events import Topic
from shared.http.app import create_app, create_worker_app
from shared.http.policies import policies_reload_router
from shared.http.settings import HttpSettings
from shared.outbox import OutboxRelay, RenamingSender, count_pending
from shared.policy.photos import PHOTOS_BODY_BYTES
from shared.runtime import ServiceSettings, Task
from shared.streams import run_stream_app
from shared.topics import TopicSpec

log = structlog.get_logger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


def migrate(database_url: str) -> None:
    """Bring intake's database to the newest schema (Alembic)."""
    upgrade_database(database_url, MIGRATIONS)


@dataclass
class Intake:
    """Everything one intake process runs, built from its settings (never at import time)."""

    settings: ServiceSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    policies: Policies
    topics: TopicNames = field(default_factory=TopicNames)
    grading: GradingSettings = field(default_factory=GradingSettings)
    producer: AIOKafkaProducer | None = None
    relay: OutboxRelay | None = None
    consumer: EventConsumer | None = None
    grader: ComplaintGrading | None = None
    directory: Directory | None = None
    writer: CreateWriter | None = None

    async def database_ready(self) -> bool:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True

    async def outbox_pending(self) -> int:
        return await count_pending(SERVICE, self.sessions, Outbox)

    async def consumer_lag(self) -> None:
        if self.consumer is not None:
            await self.consumer.record_lag()

    def api(self, auth: AuthSettings | None = None) -> FastAPI:
        """The agent API."""
        self.writer = self.writer or CreateWriter(self.sessions)
        http = HttpSettings()
        return create_app(
            SERVICE,
            http,
            tickets,
            photos,
            customers,
            calls,
            audit_router(AUDIT, db_session),
            policies_reload_router(),
            auth=auth or AuthSettings(),
            # a self-service request carries up to 3 photos of 5 MB as base64 JSON: only its create may be that large
            larger_bodies={"/api/v1/tickets": PHOTOS_BODY_BYTES},
            # an API relaying its own outbox produces: it is ready only while the broker answers
            readiness={"database": self.database_ready, **self.stream_checks()}
            | ({"broker": BrokerProbe(self.settings.kafka_bootstrap).check} if self.producer is not None else {}),
            branch_known=is_configured_branch,
            metrics_refresh=[self.outbox_pending],
            state={
                "sessions": self.sessions,
                "clock": self.clock,
                "policies": self.policies,
                "relay": self.relay,
                "verification_policy": VerificationPolicy(),
                "directory": self.directory,
                "writer": self.writer,
            },
        )

    def health_app(self) -> FastAPI:
        """The worker's health and metrics server (no API routes, so no token is ever checked)."""

        async def consuming() -> bool:
            return self.consumer is not None and await self.consumer.holding_partitions()

        checks = {
            "database": self.database_ready,
            "broker": BrokerProbe(self.settings.kafka_bootstrap).check,
            "consumer": consuming,
            **self.stream_checks(),
        }
        return create_worker_app(SERVICE, readiness=checks, metrics_refresh=[self.outbox_pending, self.consumer_lag])

    def stream_checks(self) -> dict[str, Callable[[], Awaitable[bool]]]:
        """Complaint grading's readiness when this process runs it: its partitions held, tables recovered, caught up."""
        return {} if self.grader is None else {"grading": self.grader.app.ready}

    def worker_parts(self) -> None:
        """The producer, outbox relay and consumer (started by the tasks)."""
        producer = make_producer(self.settings.kafka_bootstrap, f"{SERVICE}-worker")
        self.producer = producer
        self.relay = OutboxRelay(SERVICE, self.sessions, Outbox, RenamingSender(producer, self.topics), self.clock)
        self.consumer = EventConsumer(
            SERVICE,
            ConsumerSettings(
                bootstrap=self.settings.kafka_bootstrap,
                group_id=GROUP_ID if not self.topics.names else f"{GROUP_ID}-{self.topics(CONSUMED_TOPICS[0])}",
                topics=[self.topics(t) for t in CONSUMED_TOPICS],
                client_id=f"{SERVICE}-worker",
            ),
            ViewBuilder(self.sessions, self.clock, self.policies),
            producer,
            self.clock,
        )

    async def grading_app(self) -> ComplaintGrading:
        """The Faust app of complaint grading, its tables co-partitioned with hotline.tickets."""
        tickets = self.topics(Topic.TICKETS)
        names = [self.topics(t) for t in CONSUMED_TOPICS]
        counts = await ensure_topics(self.settings.kafka_bootstrap, names, self.settings.partitions)
        # the subjects topic and the changelogs are made, co-partitioned, by run_stream_app before it subscribes
        datadir = self.settings.state_dir / SERVICE / "grading"
        datadir.mkdir(parents=True, exist_ok=True)
        self.grader = ComplaintGrading(
            self.grading,
            self.settings.kafka_bootstrap,
            self.clock,
            self.policies,
            partitions=counts[tickets],
            datadir=str(datadir),
            topics=self.topics,
        )
        return self.grader

    def worker_tasks(self) -> list[Task]:
        assert self.producer is not None and self.relay is not None and self.consumer is not None
        relay, consumer = self.relay, self.consumer

        async def relay_outbox(stop: asyncio.Event) -> None:
            await relay.run(stop)

        async def consume(stop: asyncio.Event) -> None:
            await consumer.run(stop)

        return [relay_outbox, consume]

    async def start_producer(self) -> None:
        if self.producer is not None:
            await self.producer.start()

    async def close(self) -> None:
        if self.writer is not None:
            await self.writer.close()
        if self.producer is not None:
            await self.producer.stop()
        await self.engine.dispose()


async def ensure_topics(bootstrap: str, topics: list[str], partitions: int) -> dict[str, int]:
    """Each topic's partition count, creating the missing ones with `partitions` (so tables co-partition)."""
    return await shared_topics.ensure_topics(
        bootstrap, dict.fromkeys(topics, TopicSpec()), default_partitions=partitions
    )


def run_faust(app: ComplaintGrading, bootstrap: str) -> Task:
    async def grade_complaints(stop: asyncio.Event) -> None:
        # its changelogs and subjects topic exist before it subscribes; a crashed agent ends the process
        await run_stream_app(app.app, bootstrap, stop)

    return grade_complaints


def build(
    settings: ServiceSettings,
    *,
    database_url: str | None = None,
    clock: Clock | None = None,
    topics: TopicNames | None = None,
) -> Intake:
    url = database_url or settings.database_url_for(SERVICE)
    engine = make_engine(url)
    own = IntakeSettings()
    return Intake(
        settings=settings,
        engine=engine,
        sessions=make_sessions(engine),
        clock=clock or settings.clock(),
        policies=Policies(load_calendar()),
        topics=topics or own.topic_names(),
        grading=own.grading(),
        directory=DispatchDirectory(own.dispatch_url),
    )
