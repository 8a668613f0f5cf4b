"""Complaint grading's Faust app (RULES.md §4): complaints re-keyed by subject, a table per subject.

Two agents, each with a changelog-backed table co-partitioned with the topic it reads:

- `route_complaints_by_subject` reads hotline.tickets (keyed by ticket) and re-keys what grading needs
  by complaint subject onto the internal subjects topic: each new complaint, and the end of a
  complaint's life (closed, resolved on the call). Its table `subject_by_ticket` remembers the subject
  of each open complaint so that a closing event, which names only the ticket, finds its subject.
- `track_complaint_subjects` reads the subjects topic; its table `complaints_by_subject` holds every
  complaint of a subject (complainant hashed, never personal data). A new complaint is graded with
  `grade_complaint` against the subject's history, and `regrade_open_complaints` lifts the open ones.
  It sends `ComplaintGraded` for the new complaint when it is above level 3, and for every open
  complaint that it lifts. Event ids are deterministic (ticket + level), so a redelivery or a replay
  emits nothing a consumer would act on twice.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import faust
import structlog

from services.intake.grading import close_complaint, complaint_note, grade_new_complaint
from services.intake.handlers import Policies
from services.intake.settings import GradingSettings, TopicNames
from shared.clock import Clock
from shared.events import (
    EventDecodeError,
    TicketClosed,
    TicketReceived,
    TicketResolvedOnFirstContact,
    Topic,
    decode,
    encode,
)
from shared.streams import StreamApp

log = structlog.get_logger(__name__)

Publish = Callable[[Topic, bytes, bytes], Awaitable[None]]
Forward = Callable[[bytes, bytes], Awaitable[None]]


class ComplaintGrading:
    """The Faust app of complaint grading; `publish` and `forward` are injectable for test contexts."""

    def __init__(
        self,
        settings: GradingSettings,
        kafka_bootstrap: str,
        clock: Clock,
        policies: Policies,
        *,
        partitions: int,
        datadir: str,
        topics: TopicNames | None = None,
        publish: Publish | None = None,
        forward: Forward | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.policies = policies
        self.topics = topics or TopicNames()
        self.app = StreamApp(
            settings.app_id,
            broker=f"kafka://{kafka_bootstrap}",
            store=settings.store,
            datadir=datadir,
            web_enabled=False,
            topic_partitions=partitions,
            topic_replication_factor=settings.replication_factor,
            table_standby_replicas=settings.standby_replicas,
            broker_commit_interval=1.0,
            consumer_auto_offset_reset="earliest",
        )
        raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
        self.subject_by_ticket = self.app.Table(
            "subject_by_ticket", partitions=partitions, key_type=bytes, value_type=bytes, help="ticket -> subject"
        )
        self.complaints_by_subject = self.app.Table(
            "complaints_by_subject",
            partitions=partitions,
            key_type=bytes,
            value_type=bytes,
            help="subject -> its complaints",
        )
        for table in (self.subject_by_ticket, self.complaints_by_subject):
            # Faust picks a json codec from the bytes type; the values are already encoded
            codec: Any = table
            codec.key_serializer = codec.value_serializer = "raw"
        self.tickets = self.app.topic(self.topics(Topic.TICKETS), partitions=partitions, **raw)
        self.subjects = self.app.topic(settings.subjects_topic, partitions=partitions, internal=True, **raw)
        self.out = self.app.topic(self.topics(Topic.TICKETS), **raw)
        self.publish: Publish = publish or self._send_to_tickets
        self.forward: Forward = forward or self._send_to_subjects
        self.router = self.app.agent(self.tickets, name="route_complaints_by_subject")(self._route)
        self.tracker = self.app.agent(self.subjects, name="track_complaint_subjects")(self._track)

    async def _send_to_tickets(self, topic: Topic, key: bytes, value: bytes) -> None:
        await self.out.send(key=key, value=value)

    async def _send_to_subjects(self, key: bytes, value: bytes) -> None:
        await self.subjects.send(key=key, value=value)

    async def _route(self, stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        async for value in stream:
            await self.route(value)
            yield None

    async def route(self, value: bytes) -> None:
        """Re-key a ticket event by complaint subject, when grading needs it."""
        try:
            event = decode(value)
        except EventDecodeError:
            return  # the view's consumer dead-letters it; grading only skips it
        payload = event.payload
        ticket_key = (event.ticket_id or "").encode()
        if isinstance(payload, TicketReceived) and payload.complaint is not None:
            subject = payload.complaint.subject_key.encode()
            self.subject_by_ticket[ticket_key] = subject
            await self.forward(subject, json.dumps(complaint_note(event, payload)).encode())
        elif isinstance(payload, TicketClosed | TicketResolvedOnFirstContact):
            subject_bytes: bytes | None = self.subject_by_ticket.get(ticket_key)
            if subject_bytes is not None:
                note = {"kind": "closed", "ticket_id": event.ticket_id}
                await self.forward(subject_bytes, json.dumps(note).encode())
                del self.subject_by_ticket[ticket_key]

    async def _track(self, stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        async for key, value in stream.items():
            await self.track(key, value)
            yield None

    async def track(self, key: bytes, value: bytes) -> None:
        """Grade a subject's new complaint, or mark one closed."""
        note = json.loads(value)
        stored: bytes | None = self.complaints_by_subject.get(key)
        book: list[dict[str, Any]] = json.loads(stored) if stored else []
        if note["kind"] == "closed":
            self.complaints_by_subject[key] = json.dumps(close_complaint(book, note["ticket_id"])).encode()
            return
        book, events = grade_new_complaint(book, note, self.policies)
        self.complaints_by_subject[key] = json.dumps(book).encode()
        for event in events:
            log.info("complaint_graded", ticket_id=event.ticket_id, level=int(event.payload.level))
            await self.publish(Topic.TICKETS, event.key.encode(), encode(event))
