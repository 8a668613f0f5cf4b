"""The knowledge worker: relays the outbox (every workflow step and feedback) to hotline.knowledge.

The service consumes no topic; its only background work is the transactional outbox relay (its
health server is create_worker_app's, built in bootstrap).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.knowledge.store import Outbox
from shared.clock import Clock
from shared.events import Topic
from shared.outbox import OutboxRelay, Sender


class _ToTopic:
    """Sends every outbox row to `topic` (the service publishes on one topic; tests give it their own)."""

    def __init__(self, producer: Sender, topic: str) -> None:
        self._producer = producer
        self._topic = topic

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None) -> Any:
        return await self._producer.send(self._topic, value=value, key=key)


def knowledge_relay(
    service: str, sessions: async_sessionmaker[AsyncSession], producer: Sender, clock: Clock, topic: str
) -> OutboxRelay:
    sender = producer if topic == Topic.KNOWLEDGE.value else _ToTopic(producer, topic)
    return OutboxRelay(service, sessions, Outbox, sender, clock)
