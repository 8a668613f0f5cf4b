"""Intake's worker: the outbox relay, and the consumer that builds the ticket view and the call records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.intake.handlers import Policies, record_call_event
from services.intake.settings import TopicNames
from services.intake.store import ProcessedEvent
from services.intake.view import apply_to_view
from shared.clock import Clock
from shared.db import transaction
from shared.events import CallPayload, Event, Payload, SlaPayload, TicketPayload, Topic
from shared.inbox import unseen

log = structlog.get_logger(__name__)

GROUP_ID = "hotline-intake"
CONSUMED_TOPICS = (Topic.TICKETS, Topic.SLA, Topic.CTI_CALLS)


class RenamedTopicsSender:
    """Sends each outbox row to its topic's real name (the relay's Sender)."""

    def __init__(self, producer: AIOKafkaProducer, topics: TopicNames) -> None:
        self._producer = producer
        self._topics = topics

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None) -> Any:
        return await self._producer.send(self._topics(topic), value=value, key=key)


@dataclass
class ViewBuilder:
    """The consumer's batch handler: one transaction per batch, each event applied once."""

    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    policies: Policies

    async def __call__(self, events: Sequence[Event[Payload]]) -> None:
        async with transaction(self.sessions) as session:
            fresh = await unseen(session, ProcessedEvent, [(e.event_id, e.type) for e in events], self.clock.now())
            for event in events:
                if event.event_id in fresh:
                    await self.apply(session, event)

    async def apply(self, session: AsyncSession, event: Event[Payload]) -> None:
        payload = event.payload
        if isinstance(payload, CallPayload):
            await record_call_event(session, event)
        elif isinstance(payload, TicketPayload | SlaPayload):
            await apply_to_view(session, event, self.policies)
        # notifications and anything else: not intake's business
