"""Wires the outbound service: settings, database, clock, policies, templates, SMS sender, API app and worker."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.outbound.api import build_router
from services.outbound.government import GovernmentReporter, HttpGovernmentPlatform
from services.outbound.handlers import SERVICE, OutboundContext
from services.outbound.intake_client import IntakeClient
from services.outbound.self_service import SelfServiceContext
from services.outbound.self_service_api import build_self_service_router
from services.outbound.settings import OutboundSettings
from services.outbound.store import Outbox, SmsMessage
from services.outbound.templates import NoticeCatalog
from services.outbound.webhooks import WebhookDeliverer
from services.outbound.worker import OutboundWorker, RenamingSender
from shared.auth import AuthSettings
from shared.branch_config import BranchPolicies, branch_codes, is_configured_branch
from shared.bus import BrokerProbe, ConsumerSettings, EventConsumer
from shared.clock import Clock
from shared.db import make_engine, make_sessions, upgrade_database
from shared.http.app import create_app, create_worker_app
from shared.http.settings import HttpSettings
from shared.outbox import OutboxRelay, count_pending
from shared.policy.photos import PHOTOS_BODY_BYTES
from shared.policy.self_service import CodePolicy
from shared.runtime import ServiceSettings
from shared.sms import SmsSender, SmsSettings, build_sender
from shared.sms.api import sms_router

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class OutboundService:
    """Everything one outbound process shares, built by `build` and never at import."""

    settings: ServiceSettings
    outbound: OutboundSettings
    sms: SmsSettings
    database_url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    ctx: OutboundContext
    sender: SmsSender
    self_service: SelfServiceContext

    async def prepare(self) -> None:
        """Migrate (in a thread: Alembic runs its own loop) and check every branch's templates now, not at a send."""
        await asyncio.to_thread(upgrade_database, self.database_url, MIGRATIONS)
        for branch in branch_codes():
            self.ctx.notices.for_branch(branch)

    async def database_ready(self) -> bool:
        async with self.sessions() as session:
            await session.execute(text("SELECT 1"))
        return True

    async def outbox_pending(self) -> int:
        return await count_pending(SERVICE, self.sessions, Outbox)

    def api_app(self, *, auth: AuthSettings | None = None) -> FastAPI:
        secret = self.sms.dlr_secret.get_secret_value() if self.sms.dlr_secret else None
        http = HttpSettings()
        return create_app(
            SERVICE,
            http,
            build_router(),
            build_self_service_router(),
            sms_router(
                SERVICE,
                SmsMessage,
                lambda request: self.sessions,
                lambda request: self.ctx.clock,
                secret,
                on_requeued=lambda request: self.sender.notify(),
            ),
            auth=auth or AuthSettings(),
            # the self-service page passes up to 3 photos of 5 MB on to intake: only that route may be that large
            larger_bodies={"/api/v1/self-service/tickets": PHOTOS_BODY_BYTES},
            readiness={"database": self.database_ready},
            branch_known=is_configured_branch,
            metrics_refresh=[self.outbox_pending, self.sender.failed_open],
            state={
                "sessions": self.sessions,
                "outbound": self.ctx,
                "self_service": self.self_service,
                "sms_sender": self.sender,
                "trusted_proxies": self.outbound.self_service_trusted_proxies,
            },
        )

    def relay(self, producer: AIOKafkaProducer) -> OutboxRelay:
        sender = RenamingSender(producer, self.outbound.topic_tickets)
        return OutboxRelay(SERVICE, self.sessions, Outbox, sender, self.ctx.clock)

    def consumer(
        self, producer: AIOKafkaProducer, relay: OutboxRelay | None, client_id: str = SERVICE
    ) -> EventConsumer:
        worker = OutboundWorker(self.sessions, self.ctx, relay, self.sender)
        settings = ConsumerSettings(
            bootstrap=self.settings.kafka_bootstrap,
            group_id=self.outbound.consumer_group,
            topics=[self.outbound.topic_tickets],
            client_id=client_id,
        )
        return EventConsumer(SERVICE, settings, worker.handle, producer, self.ctx.clock)

    def worker_app(self, consumer: EventConsumer, *, auth: AuthSettings | None = None) -> FastAPI:
        return create_worker_app(
            SERVICE,
            readiness={
                "database": self.database_ready,
                "broker": BrokerProbe(self.settings.kafka_bootstrap).check,
                "consumer": consumer.holding_partitions,
            },
            metrics_refresh=[self.outbox_pending, consumer.record_lag, self.sender.failed_open],
            auth=auth or AuthSettings(),
        )

    @property
    def government(self) -> GovernmentReporter:
        assert self.ctx.government is not None
        return self.ctx.government

    @property
    def webhooks(self) -> WebhookDeliverer:
        assert self.ctx.webhooks is not None
        return self.ctx.webhooks

    async def close(self) -> None:
        if self.self_service.intake is not None:
            await self.self_service.intake.close()
        await self.webhooks.close()
        await self.government.close()
        await self.sender.close()
        await self.engine.dispose()


def build(
    settings: ServiceSettings | None = None,
    outbound: OutboundSettings | None = None,
    sms: SmsSettings | None = None,
    *,
    clock: Clock | None = None,
    database_url: str | None = None,
) -> OutboundService:
    """Wire one outbound process (tests pass their own clock, database and gateways)."""
    settings = settings or ServiceSettings()
    outbound = outbound or OutboundSettings()
    sms = sms or SmsSettings()
    url = database_url or settings.database_url_for(SERVICE)
    engine = make_engine(url)
    sessions = make_sessions(engine)
    clock = clock or settings.clock()
    ctx = OutboundContext(
        clock=clock,
        policies=BranchPolicies(),
        notices=NoticeCatalog(outbound.templates_dir),
        webhook_allow_private=outbound.webhook_allow_private,
    )
    ctx.webhooks = WebhookDeliverer(
        sessions,
        clock,
        retry_delays=outbound.webhook_retry_delays,
        allow_private=outbound.webhook_allow_private,
        poll_interval=outbound.webhook_poll_interval,
    )
    platform = (
        HttpGovernmentPlatform(outbound.government_url, outbound.government_token.get_secret_value())
        if outbound.government_url
        else None
    )
    ctx.government = GovernmentReporter(
        sessions,
        platform,
        clock,
        retry_delays=outbound.government_retry_delays,
        poll_interval=outbound.government_poll_interval,
    )
    sender = build_sender(SERVICE, sessions, SmsMessage, sms, clock)
    return OutboundService(
        settings, outbound, sms, url, engine, sessions, ctx, sender, self_service_context(outbound, clock)
    )


def self_service_context(outbound: OutboundSettings, clock: Clock) -> SelfServiceContext:
    """The code rules from settings, and intake reached with the integration key (none: requests are refused)."""
    policy = CodePolicy(
        lifetime=timedelta(seconds=outbound.code_lifetime_seconds),
        max_wrong=outbound.code_max_wrong,
        resend_after=timedelta(seconds=outbound.code_resend_seconds),
        per_hour=outbound.codes_per_hour,
        session_lifetime=timedelta(minutes=outbound.customer_session_minutes),
    )
    key = outbound.intake_api_key
    intake = (
        IntakeClient(outbound.intake_url, key.get_secret_value(), identity_url=outbound.identity_url)
        if key is not None
        else None
    )
    return SelfServiceContext(clock=clock, policy=policy, intake=intake)
