"""A take of events applied as one batch ends in the same timers and due-index listing as the events one by one."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.sla_monitor.batch import apply_batch, open_count
from services.sla_monitor.handlers import PolicyView, apply_event
from services.sla_monitor.store import DueIndex, TicketTimers, bucket_of
from shared.branch_config import load_branch, load_calendar
from shared.events import Event, Payload
from tests.unit.sla_monitor.builders import (
    approved,
    at,
    attempted,
    closed,
    contacted,
    dispatched,
    extended,
    graded,
    received,
    rejected,
    reopened,
    replied,
    return_refused,
    returned,
    wrap,
)

T0 = at("2026-11-02 09:00")
PARTITION = 3


def _minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def _lives() -> dict[str, list[Event[Payload]]]:
    """Whole and partial lifecycles, including a redelivered receipt, a return and a reopening."""
    repair = [
        wrap(received(T0), T0, "R-1"),
        wrap(received(T0), T0, "R-1"),  # redelivered
        wrap(dispatched(), _minutes(2), "R-1"),
        wrap(contacted(_minutes(20)), _minutes(20), "R-1"),
        wrap(replied(), _minutes(60), "R-1"),
        wrap(rejected(), _minutes(61), "R-1"),
        wrap(replied(), _minutes(90), "R-1"),
        wrap(approved(_minutes(90)), _minutes(95), "R-1"),
        wrap(reopened(), _minutes(100), "R-1"),
        wrap(replied(), _minutes(120), "R-1"),
        wrap(approved(_minutes(120)), _minutes(125), "R-1"),
        wrap(attempted(), _minutes(130), "R-1"),
        wrap(closed(), _minutes(131), "R-1"),
        wrap(dispatched(), _minutes(140), "R-1"),  # after the close: changes nothing
    ]
    complaint = [
        wrap(received(T0, "complaint"), T0, "C-1"),
        wrap(dispatched("complaint"), _minutes(3), "C-1"),
        wrap(graded(2), _minutes(10), "C-1"),
        wrap(extended("handle", _minutes(60 * 24 * 5)), _minutes(30), "C-1"),
        wrap(graded(1, previous=2), _minutes(40), "C-1"),
    ]
    returned_repair = [
        wrap(received(T0), T0, "R-2"),
        wrap(dispatched(), _minutes(1), "R-2"),
        wrap(returned(), _minutes(5), "R-2"),
        wrap(return_refused(), _minutes(7), "R-2"),
        wrap(returned(), _minutes(8), "R-2"),
        wrap(dispatched(count=2), _minutes(9), "R-2"),
    ]
    never_started = [wrap(contacted(_minutes(1)), _minutes(1), "X-1"), wrap(received(T0), _minutes(2), "X-1")]
    return {"R-1": repair, "C-1": complaint, "R-2": returned_repair, "X-1": never_started}


@pytest.fixture(scope="module")
def view() -> PolicyView:
    return PolicyView(load_branch("default"), load_calendar())


class Tables:
    """The monitor's two tables as dicts, with what it stores for a ticket and the index over them."""

    def __init__(self) -> None:
        self.timers: dict[bytes, bytes] = {}
        self.index = DueIndex({}, {}, 1.0, lambda partition, opened: None)
        self.cursor = bucket_of(T0.timestamp()) - 1
        self.open = 0

    def load(self, ticket_id: str) -> TicketTimers | None:
        raw = self.timers.get(ticket_id.encode())
        return TicketTimers.from_bytes(raw) if raw is not None else None

    def listed(self, ticket_id: str) -> bool:
        ticket = self.load(ticket_id)
        assert ticket is not None
        if ticket.indexed_bucket is None:
            return ticket.next_due() is None
        return ticket_id in self.index.ids(PARTITION, ticket.indexed_bucket)

    def one_by_one(self, events: list[Event[Payload]], view: PolicyView) -> None:
        """What the worker did before batches: read, apply, reindex and store after every event."""
        for event in events:
            assert event.ticket_id is not None
            known = self.load(event.ticket_id)
            before = open_count(known)
            ticket = apply_event(known, event, view)
            if ticket is None:
                continue
            ticket.partition = PARTITION
            if ticket.closed:
                ticket.clocks = {}
            self.index.reindex(ticket, PARTITION, self.cursor)
            self.timers[event.ticket_id.encode()] = ticket.to_bytes()
            self.open += open_count(ticket) - before

    def batch(self, events: list[Event[Payload]], view: PolicyView) -> None:
        """What the worker does with one take: `apply_batch`, one reindex, one write per ticket."""
        touched = apply_batch(((PARTITION, e) for e in events), self.load, lambda branch: view)
        self.index.reindex_all([entry.ticket for entry in touched.values()], PARTITION, self.cursor)
        for ticket_id, entry in touched.items():
            self.timers[ticket_id.encode()] = entry.ticket.to_bytes()
            self.open += open_count(entry.ticket) - entry.opened_before


@pytest.mark.parametrize("ticket_id", sorted(_lives()))
def test_a_tickets_events_in_one_take_end_in_the_same_timers_as_one_by_one(ticket_id: str, view: PolicyView) -> None:
    events = _lives()[ticket_id]
    for split in range(len(events) + 1):  # the take may end anywhere: the rest comes in the next one
        single, batched = Tables(), Tables()
        single.one_by_one(events, view)
        batched.batch(events[:split], view)
        batched.batch(events[split:], view)
        assert batched.timers == single.timers, f"split after {split} events"
        assert batched.open == single.open
        if single.timers:
            assert batched.listed(ticket_id) and single.listed(ticket_id)


def test_interleaved_tickets_in_one_take_match_one_by_one_and_each_is_written_once(view: PolicyView) -> None:
    lives = _lives()
    interleaved = [event for step in range(14) for life in lives.values() if step < len(life) for event in [life[step]]]
    single, batched = Tables(), Tables()
    single.one_by_one(interleaved, view)
    written: list[bytes] = []

    class Recording(dict[bytes, bytes]):
        def __setitem__(self, key: bytes, value: bytes) -> None:
            written.append(key)
            super().__setitem__(key, value)

    batched.timers = Recording()
    batched.batch(interleaved, view)
    assert dict(batched.timers) == single.timers
    assert sorted(written) == sorted(single.timers)  # one write per ticket for the whole take
    assert batched.open == single.open
    assert all(batched.listed(ticket_id) for ticket_id in ("R-2", "C-1"))


def test_a_batch_of_receipts_fills_each_due_bucket_in_as_few_writes_as_its_entries(view: PolicyView) -> None:
    tables = Tables()
    writes: list[bytes] = []

    class Recording(dict[bytes, bytes]):
        def __setitem__(self, key: bytes, value: bytes) -> None:
            writes.append(key)
            super().__setitem__(key, value)

    tables.index.entries = Recording()
    events = [wrap(received(T0), T0, f"B-{i:03d}") for i in range(150)]  # all due in the same second
    tables.batch(events, view)
    first = tables.load("B-000")
    assert first is not None and first.indexed_bucket is not None
    bucket = first.indexed_bucket  # the warning's second, the same for all
    assert sorted(tables.index.ids(PARTITION, bucket)) == sorted(f"B-{i:03d}" for i in range(150))
    assert len(writes) == 3  # 64 + 64 + 22 ids: one write per entry, not one per ticket
