"""Reads hotline.tickets and hotline.sla from the run's start as a bystander: the report's only source."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.events import Event as ProductEvent
from shared.events import (
    EventDecodeError,
    Payload,
    TicketClosed,
    TicketReceived,
    TicketResolvedOnFirstContact,
    Topic,
    decode,
)

TOPICS = (Topic.TICKETS, Topic.SLA)


@dataclass
class Observer:
    """Every event published on the ticket and SLA topics after `start()` (no group, no commits)."""

    bootstrap: str
    events: list[ProductEvent[Payload]] = field(default_factory=list)
    received: set[str] = field(default_factory=set)
    finished: set[str] = field(default_factory=set)  # closed, or closed on the call
    undecodable: int = 0

    def __post_init__(self) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
        )

    async def start(self) -> None:
        """Assign every partition at its current end, so only what is published from now on is read."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            described = await admin.describe_topics([str(topic) for topic in TOPICS])
        finally:
            await admin.close()
        partitions = [
            TopicPartition(topic["topic"], partition["partition"])
            for topic in described
            for partition in topic["partitions"]
        ]
        if {p.topic for p in partitions} != {str(t) for t in TOPICS}:
            raise RuntimeError(f"topics {', '.join(map(str, TOPICS))} not found on {self.bootstrap}")
        await self._consumer.start()
        self._consumer.assign(partitions)
        ends = await self._consumer.end_offsets(partitions)
        for partition, offset in ends.items():
            self._consumer.seek(partition, offset)

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                batches = await self._consumer.getmany(timeout_ms=300, max_records=2_000)
                for messages in batches.values():
                    for message in messages:
                        self._take(message.value)
        finally:
            await self._consumer.stop()

    def _take(self, value: bytes | None) -> None:
        if value is None:
            return
        try:
            event = decode(value)
        except EventDecodeError:
            self.undecodable += 1
            return
        self.events.append(event)
        if event.ticket_id is None:
            return
        if isinstance(event.payload, TicketReceived):
            self.received.add(event.ticket_id)
        elif isinstance(event.payload, TicketClosed | TicketResolvedOnFirstContact):
            self.finished.add(event.ticket_id)
