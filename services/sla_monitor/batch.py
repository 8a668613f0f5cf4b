"""A batch of ticket events applied at once: each ticket read once, all its events applied in order, written once.

Pure (no I/O): the worker reads the tickets through `load`, then writes what `apply_batch` returns to its tables
and the due index, once per ticket and per due bucket instead of once per event (issue 20).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from services.sla_monitor.handlers import PolicyView, apply_event
from services.sla_monitor.store import TicketTimers
from shared.events import Event, Payload


@dataclass
class Touched:
    """A ticket the batch changed: its timers after the batch, and how many clocks ran before it."""

    ticket: TicketTimers
    opened_before: int


def open_count(ticket: TicketTimers | None) -> int:
    return 0 if ticket is None else len(ticket.running())


def apply_batch(
    events: Iterable[tuple[int, Event[Payload]]],
    load: Callable[[str], TicketTimers | None],
    view: Callable[[str], PolicyView],
) -> dict[str, Touched]:
    """The tickets `events` (partition, event) change, in first-seen order, with their timers after all of them.

    `load(ticket_id)` gives the stored timers (a fresh object: they are changed in place), `view(branch)` the
    policy; the result is what applying the events one by one, storing after each, would have stored.
    """
    touched: dict[str, Touched] = {}
    for partition, event in events:
        assert event.ticket_id is not None
        entry = touched.get(event.ticket_id)
        if entry is None:
            known = load(event.ticket_id)
            before = open_count(known)
            ticket = apply_event(known, event, view(event.branch))
            if ticket is None:
                continue  # nothing to time (yet): a later event of the batch may still start it
            entry = touched[event.ticket_id] = Touched(ticket, before)
        else:
            changed = apply_event(entry.ticket, event, view(event.branch))
            assert changed is not None  # a ticket once tracked stays tracked
        entry.ticket.partition = partition
        if entry.ticket.closed:
            entry.ticket.clocks = {}  # a closed ticket keeps only its tombstone, so a redelivery cannot restart it
    return touched
