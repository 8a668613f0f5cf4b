"""Wires the identity service: settings, database, password hasher, key ring, limiters, API app, worker."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.identity.api import routers
from services.identity.handlers.common import Identity
from services.identity.keys import KeyRing
from services.identity.passwords import Passwords
from services.identity.ratelimit import SlidingWindowLimiter
from services.identity.settings import IdentitySettings
from services.identity.worker import Housekeeper
from shared.auth import AuthSettings
from shared.auth.jwks import JwksCache, register_cache
from shared.clock import Clock, SystemClock
from shared.db import make_engine, make_sessions, upgrade_database
from shared.http.app import create_app
from shared.http.settings import HttpSettings
from shared.runtime import ServiceSettings

SERVICE = "identity"
MIGRATIONS = Path(__file__).parent / "migrations"
# identity verifies the tokens of its own admin API from its key ring in memory, never over HTTP to itself
LOCAL_JWKS = "local:identity-key-ring"


def migrate(url: str) -> None:
    upgrade_database(url, MIGRATIONS)


@dataclass
class IdentityService:
    settings: ServiceSettings
    database_url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    identity: Identity

    async def database_ready(self) -> bool:
        async with self.sessions() as session:
            await session.execute(text("SELECT 1"))
        return True

    async def close(self) -> None:
        await self.engine.dispose()


def own_auth_settings(auth: AuthSettings | None = None) -> AuthSettings:
    """The verification settings of identity's own API: its key ring, plus HS256 only if dev is on."""
    base = auth or AuthSettings(jwks_url=LOCAL_JWKS)
    return base.model_copy(update={"jwks_url": LOCAL_JWKS})


def build(
    settings: ServiceSettings | None = None,
    identity_settings: IdentitySettings | None = None,
    *,
    database_url: str | None = None,
    auth: AuthSettings | None = None,
    clock: Clock | None = None,
) -> IdentityService:
    settings = settings or ServiceSettings()
    ids = identity_settings or IdentitySettings()
    url = database_url or settings.database_url_for(SERVICE)
    engine = make_engine(url)
    sessions = make_sessions(engine)
    ring = KeyRing(sessions)
    auth_settings = own_auth_settings(auth)
    register_cache(JwksCache(LOCAL_JWKS, max_age=5.0, min_refresh=0.0, fetch=lambda _url: ring.cached_jwks()))
    identity = Identity(
        settings=ids,
        auth=auth_settings,
        passwords=Passwords(
            time_cost=ids.argon2_time_cost,
            memory_kib=ids.argon2_memory_kib,
            parallelism=ids.argon2_parallelism,
            concurrency=ids.argon2_concurrency,
        ),
        keys=ring,
        # token instants must be the verifiers' wall clock: never the demo's simulated clock
        clock=clock or SystemClock(),
        by_username=SlidingWindowLimiter(ids.rate_per_username),
        by_address=SlidingWindowLimiter(ids.rate_per_address),
    )
    return IdentityService(settings, url, engine, sessions, identity)


def build_api(service: IdentityService, *, http: HttpSettings | None = None) -> FastAPI:
    async def keys_ready() -> bool:
        await service.identity.keys.refresh(service.identity.clock.now())
        return True

    return create_app(
        SERVICE,
        http or HttpSettings(),
        *routers(),
        auth=service.identity.auth,
        readiness={"database": service.database_ready, "signing_keys": keys_ready},
        state={"sessions": service.sessions, "identity": service.identity},
    )


async def refresh_key_ring(service: IdentityService, stop: asyncio.Event, every: float = 15.0) -> None:
    """Keep the API's key snapshot current (a roll-over started by the worker shows within `every`)."""
    while not stop.is_set():
        try:
            await service.identity.keys.refresh(service.identity.clock.now())
        except Exception:  # the next round tries again; readiness reports a lasting failure
            pass
        try:
            await asyncio.wait_for(stop.wait(), every)
        except TimeoutError:
            pass


def build_housekeeper(service: IdentityService) -> Housekeeper:
    return Housekeeper(service.sessions, service.identity.settings, service.identity.clock)


def build_worker_health(service: IdentityService, housekeeper: Housekeeper) -> FastAPI:
    """The worker's own HTTP server: liveness, readiness (database + first housekeeping round), metrics."""
    app = FastAPI(title=f"hotline {SERVICE} worker", openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok", "service": SERVICE}

    @app.get("/health/ready")
    async def ready() -> Any:
        checks = {"housekeeping": "ok" if housekeeper.ready.is_set() else "failing"}
        try:
            checks["database"] = "ok" if await service.database_ready() else "failing"
        except Exception:
            checks["database"] = "failing"
        ok = all(v == "ok" for v in checks.values())
        body = {"status": "ok" if ok else "unavailable", "service": SERVICE, "checks": checks}
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
