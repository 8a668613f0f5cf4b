"""What must hold after the faults, read from the topics (from their first offset) and the services' own answers.

- every accepted work order (intake answered 201) was received, then dispatched (or queued for manual dispatch),
  and the SLA monitor held its clocks ("timed": its key in the SLA monitor's timers changelog);
- zero duplicate side effects: one urgent notice per (ticket, reason, level, message), one breach per (ticket,
  clock, deadline), one escalation per (ticket, clock, deadline, level, reason), one CallbackScheduled per
  (callback, attempt), one ticket forwarded per (parent ticket, description). The same event_id twice is a
  redelivery that consumers drop (docs/operations), not a second side effect: only distinct event ids count;
- zero lost callbacks: every approved reply of a ticket whose caller wants a callback, in a category that has one,
  has its CallbackScheduled;
- no dead letter that is not explained (none is expected: every one is listed);
- every status SMS once at Kannel's SMSC, every webhook delivery once (`hotline.chaos.outbound`).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from hotline.chaos.outbound import OutboundVerdict
from shared.events import Event, EventDecodeError, Payload, Topic, decode
from shared.policy.limits import callback_kind, clocks_for

READ_TOPICS = (Topic.TICKETS, Topic.SLA, Topic.NOTIFICATIONS)


# the SLA monitor's table of each ticket's clocks, keyed by ticket id (services/sla_monitor/worker.py)
TIMERS_CHANGELOG = "hotline-sla_monitor-timers_by_ticket-changelog"


async def read_records(bootstrap: str, topics: Iterable[str]) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of `topics` from offset 0 up to the end offsets at the call (no group, nothing committed)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[ConsumerRecord[bytes, bytes]] = []
    try:
        cluster = await consumer._client.fetch_all_metadata()
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(cluster.partitions_for_topic(t) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp, end in ends.items() if end > 0}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000, max_records=5000)
            for records in batches.values():
                found += records
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return found


async def read_all(bootstrap: str, topics: Iterable[str] = tuple(map(str, READ_TOPICS))) -> list[Event[Payload]]:
    """Every event on `topics` (undecodable messages are the dead-letter check's business)."""
    events: list[Event[Payload]] = []
    for record in await read_records(bootstrap, topics):
        try:
            events.append(decode(record.value or b""))
        except EventDecodeError:
            continue
    return events


async def timed_tickets(bootstrap: str) -> set[str]:
    """Tickets the SLA monitor held clocks for at some point: the keys of its timers table's changelog."""
    return {
        record.key.decode()
        for record in await read_records(bootstrap, [TIMERS_CHANGELOG])
        if record.key is not None and record.value is not None
    }


@dataclass
class Verdict:
    accepted: int = 0
    work_orders: int = 0
    not_dispatched: list[str] = field(default_factory=list)
    not_timed: list[str] = field(default_factory=list)
    to_time: list[str] = field(default_factory=list)  # dispatched work orders whose category runs a clock
    not_received: list[str] = field(default_factory=list)
    duplicates: dict[str, int] = field(default_factory=dict)  # side effect -> extra copies
    duplicate_examples: list[str] = field(default_factory=list)
    callbacks_due: int = 0
    lost_callbacks: list[str] = field(default_factory=list)
    redelivered: dict[str, int] = field(default_factory=dict)  # event type -> same event_id seen again
    dead_letters: list[str] = field(default_factory=list)
    outbound: OutboundVerdict | None = None  # SMS and webhooks, when the run had a gateway and a receiver

    def add_outbound(self, outbound: OutboundVerdict) -> None:
        self.outbound = outbound
        for name, extra in (("SMS", outbound.sms_duplicates), ("webhook deliveries", outbound.webhook_duplicates)):
            if extra:
                self.duplicates[name] = extra
            else:
                self.duplicates.pop(name, None)
        self.duplicate_examples += outbound.sms_examples

    @property
    def lost(self) -> int:
        lost = len(self.not_received) + len(self.not_dispatched) + len(self.not_timed) + len(self.lost_callbacks)
        if self.outbound is not None:
            lost += len(self.outbound.sms_lost) + len(self.outbound.webhooks_lost)
        return lost

    @property
    def duplicated(self) -> int:
        return sum(self.duplicates.values())

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and not self.dead_letters


SIDE_EFFECTS: dict[str, tuple[str, ...]] = {
    "UrgentNoticeRequested": ("reason", "org_level", "message"),
    "SlaBreached": ("clock", "deadline"),
    "SlaEscalated": ("clock", "deadline", "to_level", "reason"),
    "CallbackScheduled": ("callback_id", "attempt_number"),
    "CustomerNotified": ("message_key",),  # one status SMS queued per triggering event (services/outbound)
}


def _key(event: Event[Any], fields: tuple[str, ...]) -> Hashable:
    return (event.ticket_id, *(str(getattr(event.payload, name, None)) for name in fields))


def unique_events(events: Iterable[Event[Payload]]) -> list[Event[Payload]]:
    """Each event id once (the first copy)."""
    seen: set[uuid.UUID] = set()
    found: list[Event[Payload]] = []
    for event in events:
        if event.event_id not in seen:
            seen.add(event.event_id)
            found.append(event)
    return found


def judge(events: list[Event[Payload]], accepted: Iterable[str]) -> Verdict:
    """The verdict on the product topics (the clocks are read from the SLA monitor's changelog by `check_timed`)."""
    verdict = Verdict()
    seen_ids: dict[uuid.UUID, int] = defaultdict(int)
    unique: list[Event[Any]] = []
    for event in events:
        seen_ids[event.event_id] += 1
        if seen_ids[event.event_id] == 1:
            unique.append(event)
        else:
            verdict.redelivered[event.type] = verdict.redelivered.get(event.type, 0) + 1
    by_ticket: dict[str, dict[str, list[Event[Any]]]] = defaultdict(lambda: defaultdict(list))
    for event in unique:
        if event.ticket_id is not None:
            by_ticket[event.ticket_id][event.type].append(event)
    # side effects once each
    for event_type, fields in SIDE_EFFECTS.items():
        counts: dict[Hashable, int] = defaultdict(int)
        for event in unique:
            if event.type == event_type:
                counts[_key(event, fields)] += 1
        extra = sum(n - 1 for n in counts.values() if n > 1)
        if extra:
            verdict.duplicates[event_type] = extra
            verdict.duplicate_examples += [f"{event_type} {k}" for k, n in counts.items() if n > 1][:3]
    forwarded: dict[Hashable, set[str]] = defaultdict(set)
    for event in unique:
        if event.type == "TicketReceived" and getattr(event.payload, "parent_ticket_id", None):
            payload: Any = event.payload
            forwarded[(payload.parent_ticket_id, payload.description)].add(str(event.ticket_id))
    extra = sum(len(ids) - 1 for ids in forwarded.values() if len(ids) > 1)
    if extra:
        verdict.duplicates["new tickets forwarded"] = extra
    # every accepted work order dispatched; every wanted callback scheduled
    for ticket_id in accepted:
        verdict.accepted += 1
        types = by_ticket.get(ticket_id, {})
        if "TicketReceived" not in types:
            verdict.not_received.append(ticket_id)
            continue
        if "TicketResolvedOnFirstContact" in types:
            continue
        verdict.work_orders += 1
        received: Any = types["TicketReceived"][0].payload
        if "TicketDispatched" not in types and "ManualDispatchQueued" not in types:
            verdict.not_dispatched.append(ticket_id)
        elif "TicketDispatched" in types and clocks_for(received.category):
            verdict.to_time.append(ticket_id)  # a query runs no clock (RULES.md §14(一)): nothing to time
        # owed when the caller wants one and the category has one at all (RULES.md §2: none for praise)
        wants_callback = str(getattr(received.callback, "mode", "")) == "required"
        if wants_callback and callback_kind(received.category) is not None and "ReplyApproved" in types:
            verdict.callbacks_due += 1
            if "CallbackScheduled" not in types:
                verdict.lost_callbacks.append(ticket_id)
    return verdict


def check_timed(verdict: Verdict, timed: set[str]) -> None:
    """A dispatched work order whose category runs a clock is timed when the SLA monitor's table held its clocks."""
    verdict.not_timed = [t for t in verdict.to_time if t not in timed]
