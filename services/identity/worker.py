"""Identity's housekeeping worker: signing-key roll-over on schedule, expired keys and refresh tokens dropped."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.identity import keys, store
from services.identity.handlers.common import Actor, IdentityAction, audit
from services.identity.metrics import HousekeepingMetrics
from services.identity.settings import IdentitySettings
from shared.clock import Clock

log = structlog.get_logger(__name__)

WORKER_ACTOR = Actor("identity-worker", "system", "-")


@dataclass
class Housekeeper:
    sessions: async_sessionmaker[AsyncSession]
    settings: IdentitySettings
    clock: Clock
    metrics: HousekeepingMetrics | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def tick(self) -> None:
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            current = await keys.ensure_signing_key(session, now)
            published = list(await store.published_keys(session, now))
            pending = [k for k in published if k.activates_at > now]
            if not pending and now - current.activates_at >= timedelta(days=self.settings.key_rotation_days):
                new = await keys.rotate_keys(
                    session,
                    now,
                    publish_ahead=timedelta(seconds=self.settings.key_publish_ahead_seconds),
                    token_lifetime=self.settings.access_ttl,
                )
                await audit(session, WORKER_ACTOR, IdentityAction.SIGNING_KEY_ROTATED, now, detail={"kid": new.kid})
                if self.metrics:
                    self.metrics.rotations.inc()
                log.info("signing key roll-over started", kid=new.kid, signs_from=new.activates_at.isoformat())
            dropped = await keys.drop_expired_keys(session, now)
            # a refresh token is kept a day past expiry so a late replay is still recognised as one
            purged = await store.purge_refresh_tokens(session, now - timedelta(days=1))
            published_count = len(await store.published_keys(session, now))
        if self.metrics:
            self.metrics.published.set(published_count)
            self.metrics.purged.inc(purged)
        if dropped:
            log.info("retired signing keys dropped", count=dropped)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.tick()
                self.ready.set()
            except Exception:
                log.exception("identity housekeeping failed")
            try:
                await asyncio.wait_for(stop.wait(), self.settings.housekeeping_interval_seconds)
            except TimeoutError:
                pass
