"""Live updates: which connected browser an event concerns (pure), and the hub that pushes it to their streams."""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from shared.events import Event

log = structlog.get_logger(__name__)

# who hears urgent notices (alarms, level-1 complaints: RULES.md §8) and callback-queue changes
CENTER_ROLES = frozenset({"agent", "center_supervisor"})
CALLBACK_EVENTS = frozenset(
    {"CallbackScheduled", "CallbackAttempted", "CallbackCompleted", "CallbackAbandoned", "TicketReopened"}
)
SLA_NOTICES = frozenset({"SlaWarning", "SlaBreached", "SlaEscalated"})


@dataclass(frozen=True)
class Push:
    """One server-sent event: its name and its data (one line of JSON)."""

    name: str
    data: dict[str, Any]

    def encode(self) -> bytes:
        return f"event: {self.name}\ndata: {json.dumps(self.data, ensure_ascii=False)}\n\n".encode()


@dataclass(eq=False)
class Listener:
    """One open event stream of a signed-in browser."""

    subject: str
    role: str
    branch: str
    locale: str
    extension: str | None = None
    watching: frozenset[str] = frozenset()  # the ticket ids on its page
    # the person's access token while it is valid, to fetch a call's pop as soon as the call is offered
    token: str = ""
    token_expires_at: datetime | None = None
    unit: str | None = None  # issue 17: a unit handler's unit, a division supervisor's division
    division: str | None = None
    wallboard: bool = False  # issue 18: the stream of a supervisor's wallboard
    queue: asyncio.Queue[Push] = field(default_factory=lambda: asyncio.Queue(maxsize=500))


def concerns(event: Event[Any], listener: Listener, owner: str | None) -> list[str]:
    """What `event` means to `listener` (empty: nothing). `owner` is the ticket's first-contact agent, if known.

    - a call offered at the listener's extension pops it (`call`);
    - any event of a ticket on its page updates the page (`ticket`);
    - urgent notices reach every agent and center supervisor of the branch (`notice`), SLA warnings and
      breaches the agent who owns the ticket or has it open (`notice`);
    - callback events refresh the callback desk of the branch's agents (`callbacks`).
    """
    if event.branch != listener.branch:
        return []
    kinds: list[str] = []
    if event.type == "CallOffered":
        extension = getattr(event.payload, "extension", None)
        if listener.extension and extension == listener.extension:
            kinds.append("call")
        return kinds
    ticket = event.ticket_id
    if ticket is not None and ticket in listener.watching:
        kinds.append("ticket")
    if event.type == "UrgentNoticeRequested" and listener.role in CENTER_ROLES:
        kinds.append("notice")
    elif event.type in SLA_NOTICES and (ticket in listener.watching or (owner and owner == listener.subject)):
        kinds.append("notice")
    if event.type in CALLBACK_EVENTS and listener.role in CENTER_ROLES:
        kinds.append("callbacks")
    if work_concerns(event, listener):
        kinds.append("work")
    if listener.wallboard and wallboard_concerns(event, listener):
        kinds.append("wallboard")
    return kinds


Renderer = Callable[[str, Event[Any], Listener], dict[str, Any]]
CallHook = Callable[[Listener, Event[Any]], None]


class Hub:
    """The console instance's open streams; `publish` fans one event out to the streams it concerns."""

    def __init__(self, render: Renderer, memory: int = 100_000) -> None:
        self.render = render
        self.listeners: set[Listener] = set()
        self._owners: OrderedDict[str, str] = OrderedDict()  # ticket id -> first-contact agent (RULES.md §9)
        self._calls: OrderedDict[str, dict[str, str | None]] = OrderedDict()  # call id -> caller, for the pop
        self._memory = memory
        self.published = 0
        self.dropped = 0
        self.on_call: CallHook | None = None  # a call popped at a listener: start fetching its pop at once

    def add(self, listener: Listener) -> None:
        self.listeners.add(listener)

    def remove(self, listener: Listener) -> None:
        self.listeners.discard(listener)

    def call(self, call_id: str) -> dict[str, str | None] | None:
        return self._calls.get(call_id)

    def _remember(self, store: OrderedDict[str, Any], key: str, value: Any) -> None:
        store[key] = value
        store.move_to_end(key)
        while len(store) > self._memory:
            store.popitem(last=False)

    def publish(self, event: Event[Any]) -> int:
        """Push `event` to every stream it concerns; the number of pushes."""
        payload = event.payload
        if event.type == "TicketReceived" and event.ticket_id and getattr(payload, "owner_agent_id", None):
            self._remember(self._owners, event.ticket_id, payload.owner_agent_id)
        if event.type == "CallOffered" and event.call_id:
            self._remember(
                self._calls,
                event.call_id,
                {"caller_number": getattr(payload, "caller_number", None), "branch": event.branch},
            )
        owner = self._owners.get(event.ticket_id) if event.ticket_id else None
        sent = 0
        for listener in list(self.listeners):
            for kind in concerns(event, listener, owner):
                if kind == "call" and self.on_call is not None:
                    try:
                        self.on_call(listener, event)
                    except Exception:
                        log.warning("console_pop_prefetch_failed", exc_info=True)
                try:
                    listener.queue.put_nowait(Push(kind, self.render(kind, event, listener)))
                    sent += 1
                except asyncio.QueueFull:
                    self.dropped += 1  # a stalled browser: it reloads what it missed on reconnect
                except Exception:
                    log.warning("console_push_failed", kind=kind, event_type=event.type, exc_info=True)
        self.published += sent
        return sent


# --------------------------------------------------------------------------- issue 17: work after dispatch

# what lands in a unit's inbox (or changes it): new and re-dispatched tickets, decisions of the center
UNIT_EVENTS = frozenset(
    {"TicketDispatched", "ReplyRejected", "TicketReturnRefused", "ExtensionGranted", "ExtensionDenied"}
    | {"TicketReopened"}
)
# what the center's queues receive: replies to review, returns, unroutable tickets, extension requests
CENTER_EVENTS = frozenset({"TicketReplied", "TicketReturned", "ManualDispatchQueued", "ExtensionRequested"})
ESCALATIONS = frozenset({"SlaBreached", "SlaEscalated"})


def work_concerns(event: Event[Any], listener: Listener) -> bool:
    """Whether the event changes a list of the listener's work (branch already checked by `concerns`).

    - a unit handler: events of tickets sent to (or decided for) their unit;
    - the center: what arrives in its queues, and escalations that reached the center;
    - a division supervisor: breaches and escalations of tickets of its division (RULES.md §7).
    """
    payload = event.payload
    unit = getattr(payload, "unit_id", None)
    if listener.role == "unit_handler":
        return event.type in UNIT_EVENTS and listener.unit is not None and unit == listener.unit
    if listener.role == "center_supervisor":
        if event.type == "SlaEscalated":
            return getattr(payload, "to_level", None) == "center"
        return event.type in CENTER_EVENTS
    if listener.role == "division_supervisor":
        division = getattr(payload, "division_id", None)
        return event.type in ESCALATIONS and listener.division is not None and division == listener.division
    return False


# --------------------------------------------------------------------------- issue 18: the wallboard

# what changes a wallboard's figures: receipts, dispatches, steps done, closes, warnings, breaches, escalations
WALLBOARD_EVENTS = frozenset(
    {"TicketReceived", "TicketResolvedOnFirstContact", "TicketDispatched", "TicketClosed"}
    | {"CustomerContacted", "TicketReplied", "SlaWarning", "SlaBreached", "SlaEscalated"}
)
SUPERVISORS = frozenset({"center_supervisor", "division_supervisor"})


def wallboard_concerns(event: Event[Any], listener: Listener) -> bool:
    """A supervisor's wallboard (branch already checked): the center all of it, a division what names it."""
    if event.type not in WALLBOARD_EVENTS or listener.role not in SUPERVISORS:
        return False
    if listener.role == "center_supervisor":
        return True
    return listener.division is not None and getattr(event.payload, "division_id", None) == listener.division
