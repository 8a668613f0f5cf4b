"""Complaint grading (RULES.md §4) as a Faust app: complaints re-keyed by subject, a table per subject.

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

import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import faust
import structlog

from services.intake.handlers import Policies, complainant_of
from services.intake.worker import TopicNames
from shared.clock import Clock
from shared.events import (
    ComplaintGraded,
    Event,
    EventDecodeError,
    TicketClosed,
    TicketReceived,
    TicketResolvedOnFirstContact,
    Topic,
    decode,
    deterministic_event_id,
    encode,
    new_event,
)
from shared.policy.grading import Complaint, Grade, GradeReason, grade_complaint, regrade_open_complaints
from shared.policy.limits import ComplaintLevel
from shared.streams import StreamApp

log = structlog.get_logger(__name__)

SUBJECTS_TOPIC = "hotline.intake.complaint-subjects"  # intake's own repartition topic, keyed by subject
APP_ID = "hotline-intake-grading"

Publish = Callable[[Topic, bytes, bytes], Awaitable[None]]
Forward = Callable[[bytes, bytes], Awaitable[None]]


@dataclass(frozen=True)
class GradingSettings:
    app_id: str = APP_ID
    store: str = "memory://"  # the tables come back from their changelog topics on start; rocksdb:// keeps them on disk
    subjects_topic: str = SUBJECTS_TOPIC
    replication_factor: int = 1  # of the changelog and subjects topics it creates (3 on a cluster)
    standby_replicas: int = 0  # warm copies of each partition's tables on another worker


def _hash(complainant: str) -> str:
    # the table and its changelog topic must hold no phone number or account (RULES.md §6)
    return hashlib.sha256(complainant.encode()).hexdigest()[:32]


def complaint_note(event: Event[Any], payload: TicketReceived) -> dict[str, Any]:
    """What grading keeps of a new complaint (no personal data)."""
    assert payload.complaint is not None and event.ticket_id is not None
    details = payload.complaint
    return {
        "kind": "complaint",
        "ticket_id": event.ticket_id,
        "branch": event.branch,
        "subject_key": details.subject_key,
        "complainant": _hash(complainant_of(payload.customer, event.ticket_id)),
        "received_at": payload.received_at.isoformat(),
        "complainants": details.complainant_count,
        "litigation": details.litigation,
        "media_exposure": details.media_exposure,
        "preliminary": int(details.preliminary_level) if details.preliminary_level else None,
        "level": int(details.level),
        "occurred_at": event.occurred_at.isoformat(),
        "open": True,
    }


def _complaint(note: dict[str, Any]) -> Complaint:
    return Complaint(
        ticket_id=note["ticket_id"],
        complainant=note["complainant"],
        received_at=datetime.fromisoformat(note["received_at"]),
        complainants=note["complainants"],
        litigation=note["litigation"],
        media_exposure=note["media_exposure"],
        preliminary=ComplaintLevel(note["preliminary"]) if note["preliminary"] else None,
    )


def grade_new_complaint(
    book: list[dict[str, Any]], note: dict[str, Any], policies: Policies
) -> tuple[list[dict[str, Any]], list[Event[Any]]]:
    """RULES.md §4: grade a subject's new complaint and lift its open ones; returns the book and the events."""
    if any(c["ticket_id"] == note["ticket_id"] for c in book):
        return book, []  # redelivered
    policy = policies.branch(note["branch"])
    grade = grade_complaint(_complaint(note), [_complaint(c) for c in book], policy.timezone, policy.grading)
    at_receipt = ComplaintLevel(note["level"])
    level = min(grade.level, at_receipt)  # a grade only goes up (1 is the most severe)
    reasons = grade.reasons if grade.level <= at_receipt else (GradeReason.PRELIMINARY,)
    occurred_at = datetime.fromisoformat(note["occurred_at"])
    events: list[Event[Any]] = []
    if level < ComplaintLevel.MINOR:
        events.append(_graded(note, note["ticket_id"], level, at_receipt, reasons, occurred_at, grade))
    # the agent's preliminary grade weighs one complaint, not the whole matter (§14(六))
    subject_level = grade.level if set(grade.reasons) != {GradeReason.PRELIMINARY} else ComplaintLevel.MINOR
    open_levels = [(c["ticket_id"], ComplaintLevel(c["level"])) for c in book if c["open"]]
    lifted = {r.ticket_id: r for r in regrade_open_complaints(subject_level, open_levels)}
    updated: list[dict[str, Any]] = []
    for complaint in book:
        regrade = lifted.get(complaint["ticket_id"])
        if regrade is not None:
            complaint = {**complaint, "level": int(regrade.level)}
            events.append(
                _graded(note, regrade.ticket_id, regrade.level, regrade.previous, grade.reasons, occurred_at, grade)
            )
        updated.append(complaint)
    updated.append({**note, "level": int(level)})
    return updated, events


def close_complaint(book: list[dict[str, Any]], ticket_id: str) -> list[dict[str, Any]]:
    return [{**c, "open": False} if c["ticket_id"] == ticket_id else c for c in book]


def _graded(
    note: dict[str, Any],
    ticket_id: str,
    level: ComplaintLevel,
    previous: ComplaintLevel,
    reasons: tuple[GradeReason, ...],
    occurred_at: datetime,
    grade: Grade,
) -> Event[Any]:
    text = ", ".join(r.value for r in reasons)
    return new_event(
        ComplaintGraded(
            level=level,
            previous_level=previous,
            subject_key=note["subject_key"],
            reasons=reasons,
            reason_text=f"subject {note['subject_key']} graded {int(level)} by {note['ticket_id']}: {text}"[:2000],
            distinct_complainants=grade.distinct_complainants,  # of the subject in the window (RULES.md §4)
        ),
        ticket_id=ticket_id,
        branch=note["branch"],
        producer="intake",
        correlation_id=note["ticket_id"],
        occurred_at=occurred_at,
        event_id=deterministic_event_id("ComplaintGraded", ticket_id, int(level)),
    )


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
