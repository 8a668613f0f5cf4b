"""The reporting worker: consumes hotline.tickets and hotline.sla into the store, publishes bulletins on schedule."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.reporting.handlers import RulesOf, apply_events
from services.reporting.handlers.bulletins import BulletinRequest, publish, survey_of
from services.reporting.store import Outbox
from services.reporting.store.bulletins import branches_with_tickets
from shared.branch_config import BranchPolicies
from shared.clock import Clock
from shared.db import transaction
from shared.events import Event, Payload
from shared.outbox import OutboxRelay, Sender, stage
from shared.policy.periods import last_finished
from shared.zones import branch_zone

log = structlog.get_logger(__name__)


class ReportingEventsHandler:
    """The consumer's batch handler: one transaction per batch (inbox, store, outbox), then a relay nudge."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        rules_of: RulesOf,
        relay: OutboxRelay | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._rules_of = rules_of
        self._relay = relay

    async def __call__(self, events: Sequence[Event[Payload]]) -> None:
        async with transaction(self._sessions) as session:
            emitted = await apply_events(session, events, self._clock, self._rules_of)
            stage(session, Outbox, emitted, self._clock)
        if emitted and self._relay is not None:
            self._relay.notify()


class RenamedTopics:
    """Sends to renamed topics (tests, side-by-side deployments); names not in the map pass through."""

    def __init__(self, producer: Sender, renames: Mapping[str, str]) -> None:
        self._producer = producer
        self._renames = dict(renames)

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None) -> Any:
        return await self._producer.send(self._renames.get(topic, topic), value=value, key=key)


class BulletinSchedule:
    """Publishes the bulletin of every finished week and month, per branch and division (RULES.md §7).

    Each check publishes what is missing and finds the rest already published (one bulletin per period),
    so it may run on every worker and after any restart.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        relay: OutboxRelay | None,
        interval_seconds: float,
        branch: str | None = None,
        branches: BranchPolicies | None = None,
    ) -> None:
        self._sessions, self._clock, self._relay, self._interval = sessions, clock, relay, interval_seconds
        self._branch = branch  # the branch this deployment serves: its bulletins are due even with no ticket yet
        self._branches = branches or BranchPolicies()

    async def publish_due(self) -> int:
        """One check: the bulletins published now (a period without tickets gets its empty bulletin)."""
        async with self._sessions() as session:
            owners = await branches_with_tickets(session)
        if self._branch is not None and (self._branch, None) not in owners:
            owners.insert(0, (self._branch, None))
        made = 0
        for branch, division in owners:
            zone = branch_zone(branch)
            today = self._clock.now().astimezone(zone).date()
            for kind in ("week", "month"):
                start = last_finished(kind, today)
                scope = "division" if division else "branch"
                ask = BulletinRequest(branch, kind, start, scope, division)  # type: ignore[arg-type]
                async with transaction(self._sessions) as session:
                    survey = survey_of(self._branches, branch)
                    _, events = await publish(session, None, ask, self._clock, zone, survey)
                    stage(session, Outbox, events, self._clock)
                made += len(events)
        if made and self._relay is not None:
            self._relay.notify()
        return made

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                made = await self.publish_due()
                if made:
                    log.info("bulletins_published", count=made)
            except Exception as error:  # the database is down: try again at the next check
                log.warning("bulletin_schedule_failed", error=str(error))
            try:
                await asyncio.wait_for(stop.wait(), timeout=self._interval)
            except TimeoutError:
                pass
