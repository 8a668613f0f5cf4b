"""What every service's bootstrap wires the same way: its database, clock, API, outbox gauge, worker health.

A service's `XService` dataclass extends `ServiceCore` with its own settings and parts; `core_parts()` builds
the shared fields from `ServiceSettings`; `service_api()` is its HTTP API on `create_app`; `consumer_health()`
is the worker's small server for a service whose worker is an `EventConsumer` (readiness: partitions held,
broker, database; metrics: outbox pending and lag).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.auth import AuthSettings
from shared.branch_config import is_configured_branch
from shared.bus import BrokerProbe, EventConsumer
from shared.clock import Clock
from shared.db import make_engine, make_sessions
from shared.http.app import create_app, create_worker_app
from shared.http.settings import HttpSettings
from shared.outbox import OutboxMixin, count_pending
from shared.runtime import Role, ServiceSettings, Task, serve


@dataclass
class ServiceCore:
    """Everything one process of a service shares: settings, its database (URL, engine, sessions) and clock."""

    NAME: ClassVar[str]
    OUTBOX: ClassVar[type[OutboxMixin]]
    # what readiness asks the database: a table of the service's own shows its migrations ran
    READY_QUERY: ClassVar[str] = "SELECT 1"

    settings: ServiceSettings
    database_url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock

    async def database_ready(self) -> bool:
        async with self.sessions() as session:
            await session.execute(text(self.READY_QUERY))
        return True

    async def outbox_pending(self) -> int:
        return await count_pending(self.NAME, self.sessions, self.OUTBOX)

    async def close(self) -> None:
        await self.engine.dispose()


def core_parts(
    service: str, settings: ServiceSettings | None, *, database_url: str | None, clock: Clock | None
) -> dict[str, Any]:
    """The keyword arguments of `ServiceCore`'s fields: the tests pass their own database and clock."""
    settings = settings or ServiceSettings()
    url = database_url or settings.database_url_for(service)
    engine = make_engine(url)
    return {
        "settings": settings,
        "database_url": url,
        "engine": engine,
        "sessions": make_sessions(engine),
        "clock": clock or settings.clock(),
    }


def service_api(
    service: ServiceCore,
    *routers: APIRouter,
    auth: AuthSettings | None,
    http: HttpSettings | None,
    state: Mapping[str, Any],
) -> FastAPI:
    """A service's HTTP API as every one on the core wires it: its routes (each declares its roles), database
    readiness, the unknown-branch answer, the outbox gauge, and its sessions and clock on `app.state` beside `state`."""
    return create_app(
        service.NAME,
        http or HttpSettings(),
        *routers,
        auth=auth or AuthSettings(),
        readiness={"database": service.database_ready},
        branch_known=is_configured_branch,
        metrics_refresh=[service.outbox_pending],
        state={"sessions": service.sessions, "clock": service.clock, **state},
    )


def consumer_health(service: ServiceCore, consumer: EventConsumer) -> FastAPI:
    """The worker's own small HTTP server: liveness, readiness (partitions held, broker, database), metrics."""
    broker = BrokerProbe(service.settings.kafka_bootstrap)
    return create_worker_app(
        service.NAME,
        readiness={"consumer": consumer.holding_partitions, "broker": broker.check, "database": service.database_ready},
        metrics_refresh=[service.outbox_pending, consumer.record_lag],
    )


async def serve_api(service: ServiceCore, app: FastAPI) -> None:
    """An API process: `app` on the service's API port until SIGTERM/SIGINT, then its database closed."""
    settings = service.settings
    port = settings.port_for(service.NAME, Role.API)
    await serve(service.NAME, app, settings.http_host, port, on_stop=service.close)


async def serve_worker(
    service: ServiceCore, role: Role, app: FastAPI, tasks: Sequence[Task], producer: AIOKafkaProducer
) -> None:
    """A worker process (or API and worker in one, on the API port) running `tasks` beside `app`; when it stops,
    the producer its relay sends with is stopped first, then the database closed."""

    async def stop_all() -> None:
        await producer.stop()
        await service.close()

    settings = service.settings
    port = settings.port_for(service.NAME, Role.API if role is Role.ALL else Role.WORKER)
    await serve(service.NAME, app, settings.http_host, port, tasks=tasks, on_stop=stop_all)
