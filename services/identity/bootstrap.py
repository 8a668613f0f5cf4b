"""Wires the identity service: settings, database, password hasher, key ring, limiters, API app, worker."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import structlog
from fastapi import FastAPI

from services.identity.api import routers
from services.identity.handlers.common import Identity, sign_in_limiter
from services.identity.keys import KeyRing
from services.identity.metrics import HousekeepingMetrics, SignInMetrics
from services.identity.passwords import Passwords
from services.identity.settings import IdentitySettings
from services.identity.worker import Housekeeper
from shared.auth import AuthSettings
from shared.auth.jwks import JwksCache, register_cache
from shared.clock import Clock, SystemClock
from shared.db import upgrade_database
from shared.http.app import create_app, create_worker_app
from shared.http.settings import HttpSettings
from shared.runtime import ServiceSettings
from shared.service import ServiceCore, core_parts

log = structlog.get_logger(__name__)

SERVICE = "identity"
MIGRATIONS = Path(__file__).parent / "migrations"
# identity verifies the tokens of its own admin API from its key ring in memory, never over HTTP to itself
LOCAL_JWKS = "local:identity-key-ring"


def migrate(url: str) -> None:
    upgrade_database(url, MIGRATIONS)


@dataclass
class IdentityService(ServiceCore):
    """Everything one process of the service shares (identity emits no events: it keeps no outbox)."""

    NAME = SERVICE

    identity: Identity


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
    # token instants must be the verifiers' wall clock: never the demo's simulated clock
    core = core_parts(SERVICE, settings, database_url=database_url, clock=clock or SystemClock())
    ids = identity_settings or IdentitySettings()
    ring = KeyRing(core["sessions"])
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
        clock=core["clock"],
        by_username=sign_in_limiter(ids.rate_per_username),
        by_address=sign_in_limiter(ids.rate_per_address),
    )
    return IdentityService(**core, identity=identity)


def build_api(service: IdentityService, *, http: HttpSettings | None = None) -> FastAPI:
    async def keys_ready() -> bool:
        await service.identity.keys.refresh(service.identity.clock.now())
        return True

    app = create_app(
        SERVICE,
        http or HttpSettings(),
        *routers(),
        auth=service.identity.auth,
        readiness={"database": service.database_ready, "signing_keys": keys_ready},
        state={"sessions": service.sessions, "identity": service.identity},
    )
    service.identity.metrics = SignInMetrics.build(app.state.metrics.registry)
    return app


async def refresh_key_ring(service: IdentityService, stop: asyncio.Event, every: float = 15.0) -> None:
    """Keep the API's key snapshot current (a roll-over started by the worker shows within `every`)."""
    while not stop.is_set():
        try:
            await service.identity.keys.refresh(service.identity.clock.now())
        except Exception as error:  # the next round tries again; readiness reports a lasting failure
            log.warning("key_ring_refresh_failed", error=repr(error))
        try:
            await asyncio.wait_for(stop.wait(), every)
        except TimeoutError:
            pass


def build_housekeeper(service: IdentityService) -> Housekeeper:
    return Housekeeper(service.sessions, service.identity.settings, service.identity.clock)


def build_worker_health(service: IdentityService, housekeeper: Housekeeper) -> FastAPI:
    """The worker's health and metrics server: database and a first housekeeping round done."""

    async def housekeeping() -> bool:
        return housekeeper.ready.is_set()

    app = create_worker_app(
        SERVICE,
        readiness={"database": service.database_ready, "housekeeping": housekeeping},
        auth=service.identity.auth,
    )
    housekeeper.metrics = HousekeepingMetrics.build(app.state.metrics.registry)
    return app
