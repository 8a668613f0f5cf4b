"""The SLA report of a run, computed only from the events the system published (hotline.tickets, hotline.sla).

`build_report(events)` is pure; `hotline.simulate.output` prints it (`render_report`) and saves it as
CSV files and a PNG chart (`write_report`). RULES.md §7 lists what supervision wants per unit and division:
on-time rates per clock, breaches, returns, extensions, callback satisfaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from shared.events import (
    CallbackAbandoned,
    CallbackAttempted,
    CallbackCompleted,
    CallbackScheduled,
    ComplaintGraded,
    CustomerContacted,
    Event,
    ExtensionDenied,
    ExtensionGranted,
    ExtensionRequested,
    Payload,
    ReplyRejected,
    SlaBreached,
    SlaEscalated,
    SlaWarning,
    TicketClosed,
    TicketDispatched,
    TicketReceived,
    TicketReopened,
    TicketReplied,
    TicketResolvedOnFirstContact,
    TicketReturned,
    TicketReturnRefused,
)
from shared.policy.categories import Category, PolicyError
from shared.policy.limits import SlaClock, clocks_for

UNASSIGNED = "(center queue)"  # a dispatch clock that ran out before any unit had the ticket
CLOCK_ORDER = [c.value for c in SlaClock]


@dataclass
class ClockOutcome:
    """One clock of one ticket: met (stopped in time), breached (SlaBreached seen) or still running."""

    unit: str | None
    met: bool = False
    breached: bool = False
    void: bool = False  # stopped without its step (ticket closed or returned first): not counted


@dataclass
class ClockRow:
    level: str  # unit, division or branch
    org_id: str
    clock: str
    met: int = 0
    breached: int = 0
    running: int = 0

    @property
    def on_time_rate(self) -> float | None:
        finished = self.met + self.breached
        return round(self.met / finished, 4) if finished else None


@dataclass
class OrgRow:
    """What one unit or division did during the run."""

    level: str
    org_id: str
    counts: Counter[str] = field(default_factory=Counter)
    ratings: list[int] = field(default_factory=list)

    @property
    def average_satisfaction(self) -> float | None:
        return round(sum(self.ratings) / len(self.ratings), 2) if self.ratings else None

    @property
    def solved_rate(self) -> float | None:
        surveys = self.counts["surveys"]
        return round(self.counts["solved"] / surveys, 4) if surveys else None


ACTIVITY_COLUMNS = (
    "dispatched",
    "warnings",
    "breaches",
    "escalations_division",
    "escalations_center",
    "returns",
    "returns_refused",
    "extensions_requested",
    "extensions_granted",
    "extensions_denied",
    "callbacks_completed",
    "callbacks_abandoned",
    "reopened",
    "surveys",
    "solved",
)


@dataclass
class Report:
    """Everything the report shows; every number comes from a published event."""

    first_event: datetime | None
    last_event: datetime | None
    events: int
    tickets: Counter[str]  # by category
    closed_on_call: int
    closed: Counter[str]  # by reason
    open_tickets: int
    complaint_levels: Counter[int]  # final level of each complaint
    clock_rows: list[ClockRow]
    org_rows: list[OrgRow]
    attempts: Counter[str]  # callback attempt outcomes
    escalations: Counter[str]  # "to_level/reason"
    ratings: Counter[int]
    dispatch_minutes: list[float] = field(default_factory=list)  # receipt -> first automatic dispatch

    def dispatch_percentile(self, share: float) -> float | None:
        if not self.dispatch_minutes:
            return None
        ordered = sorted(self.dispatch_minutes)
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)

    @property
    def received(self) -> int:
        return sum(self.tickets.values())

    def branch_clock(self, clock: str) -> ClockRow | None:
        return next((r for r in self.clock_rows if r.level == "branch" and r.clock == clock), None)


def _clocks_of(category: str) -> set[str]:
    try:
        return {c.value for c in clocks_for(Category(category))}
    except (PolicyError, ValueError, KeyError):
        return set()


def build_report(events: Iterable[Event[Payload]]) -> Report:
    """The report of the tickets received among `events` (events of other tickets are ignored)."""
    ordered = sorted(events, key=lambda e: e.occurred_at)
    category: dict[str, str] = {}
    received_at: dict[str, datetime] = {}
    dispatch_minutes: list[float] = []
    holder: dict[str, str] = {}  # ticket -> unit holding it now
    division_of: dict[str, str] = {}  # unit -> division (from TicketDispatched / callback events)
    clocks: dict[tuple[str, str], ClockOutcome] = {}
    on_call: set[str] = set()
    closed: dict[str, str] = {}
    levels: dict[str, int] = {}
    units: dict[str, OrgRow] = {}
    attempts: Counter[str] = Counter()
    escalations: Counter[str] = Counter()
    ratings: Counter[int] = Counter()

    def unit_row(unit: str | None) -> OrgRow:
        key = unit or UNASSIGNED
        return units.setdefault(key, OrgRow("unit", key))

    def start(ticket: str, clock: str, unit: str | None) -> None:
        state = clocks.get((ticket, clock))
        if state is None:
            clocks[(ticket, clock)] = ClockOutcome(unit)
        elif not state.breached:  # a restart (re-dispatch, reopening, new round); a breach stays one (RULES.md §8)
            state.met, state.void, state.unit = False, False, unit

    def finish(ticket: str, clock: str, unit: str | None) -> None:
        state = clocks.get((ticket, clock))
        if state is not None and not state.breached and not state.met and not state.void:
            state.met = True
            state.unit = unit or state.unit

    def revive(ticket: str, names: Iterable[str]) -> None:
        for clock in names:
            state = clocks.get((ticket, clock))
            if state is not None and state.met:
                state.met = False

    for event in ordered:
        ticket, payload = event.ticket_id, event.payload
        if ticket is None:
            continue
        if isinstance(payload, TicketReceived):
            category[ticket] = payload.category.value
            received_at[ticket] = payload.received_at
            if payload.complaint is not None:
                levels[ticket] = int(payload.complaint.level)
            if "dispatch" in _clocks_of(payload.category.value):
                start(ticket, "dispatch", payload.unit_id)
            continue
        if ticket not in category:
            continue  # a ticket received before the run
        unit = holder.get(ticket)
        match payload:
            case TicketResolvedOnFirstContact():
                on_call.add(ticket)
                clocks.pop((ticket, "dispatch"), None)  # closed on the call: no clock was owed
            case TicketDispatched(unit_id=unit_id, division_id=division_id):
                if payload.mode == "automatic" and payload.dispatch_count == 1:
                    dispatch_minutes.append((event.occurred_at - received_at[ticket]).total_seconds() / 60)
                holder[ticket] = unit_id
                division_of[unit_id] = division_id
                unit_row(unit_id).counts["dispatched"] += 1
                finish(ticket, "dispatch", unit_id)
                for clock in _clocks_of(payload.category.value) & {"contact", "handle", "resolve"}:
                    start(ticket, clock, unit_id)  # RULES.md §2: unit clocks run from (each) dispatch
            case CustomerContacted(unit_id=unit_id):
                finish(ticket, "contact", unit_id)
            case TicketReplied(unit_id=unit_id):
                finish(ticket, "handle", unit_id)
                finish(ticket, "resolve", unit_id)
            case ReplyRejected():
                revive(ticket, ("handle", "resolve"))  # the unit replies again against the same deadline
            case ComplaintGraded(level=level):
                levels[ticket] = min(levels.get(ticket, 3), int(level))
            case TicketReturned(unit_id=unit_id):
                unit_row(unit_id).counts["returns"] += 1
                for clock in ("contact", "handle", "resolve"):
                    state = clocks.get((ticket, clock))
                    if state is not None and not state.met and not state.breached:
                        state.void = True  # they start again at the new dispatch
                if (ticket, "dispatch") in clocks:
                    start(ticket, "dispatch", None)  # RULES.md §2 policy default: restarts at the return
            case TicketReturnRefused(unit_id=unit_id):
                unit_row(unit_id).counts["returns_refused"] += 1
                finish(ticket, "dispatch", unit_id)
                for clock in ("contact", "handle", "resolve"):
                    state = clocks.get((ticket, clock))
                    if state is not None and state.void:
                        state.void = False  # the ticket stays with the unit, its clocks as they were
            case ExtensionRequested(unit_id=unit_id):
                unit_row(unit_id).counts["extensions_requested"] += 1
            case ExtensionGranted(unit_id=unit_id):
                unit_row(unit_id).counts["extensions_granted"] += 1
            case ExtensionDenied(unit_id=unit_id):
                unit_row(unit_id).counts["extensions_denied"] += 1
            case TicketReopened(unit_id=unit_id):
                unit_row(unit_id).counts["reopened"] += 1
                if "resolve" in _clocks_of(category[ticket]):
                    start(ticket, "resolve", unit_id)  # RULES.md §5: the resolve clock starts again
            case CallbackScheduled(reason="reply_received"):
                start(ticket, "callback", unit)
            case CallbackAttempted(outcome=outcome):
                attempts[str(outcome)] += 1
                finish(ticket, "callback", unit)  # RULES.md §5 policy default: the first attempt stops it
            case CallbackCompleted(unit_id=unit_id, division_id=division_id):
                division_of.setdefault(unit_id, division_id)
                row = unit_row(unit_id)
                row.counts["callbacks_completed"] += 1
                if payload.satisfaction is not None:
                    row.counts["surveys"] += 1
                    row.counts["solved"] += 1 if payload.problem_solved else 0
                    row.ratings.append(payload.satisfaction)
                    ratings[payload.satisfaction] += 1
            case CallbackAbandoned():
                unit_row(unit).counts["callbacks_abandoned"] += 1
            case SlaWarning(unit_id=unit_id):
                unit_row(unit_id or unit).counts["warnings"] += 1
            case SlaBreached(clock=clock, unit_id=unit_id):
                state = clocks.setdefault((ticket, clock.value), ClockOutcome(unit_id or unit))
                state.breached, state.met, state.void = True, False, False
                state.unit = unit_id or state.unit or unit
                unit_row(state.unit).counts["breaches"] += 1
            case SlaEscalated(to_level=to_level, reason=reason, unit_id=unit_id):
                unit_row(unit_id or unit).counts[f"escalations_{to_level}"] += 1
                escalations[f"{to_level}/{reason}"] += 1
            case TicketClosed(reason=reason):
                closed[ticket] = reason
                for (other, _), state in clocks.items():
                    if other == ticket and not state.met and not state.breached:
                        state.void = True  # RULES.md §8: closing stops every clock still running

    return Report(
        first_event=ordered[0].occurred_at if ordered else None,
        last_event=ordered[-1].occurred_at if ordered else None,
        events=len(ordered),
        tickets=Counter(category.values()),
        closed_on_call=len(on_call),
        closed=Counter(closed.values()),
        open_tickets=sum(1 for t in category if t not in closed and t not in on_call),
        complaint_levels=Counter(levels.values()),
        clock_rows=_clock_rows(clocks, division_of),
        org_rows=_org_rows(units, division_of),
        attempts=attempts,
        escalations=escalations,
        ratings=ratings,
        dispatch_minutes=dispatch_minutes,
    )


def _division(unit: str, division_of: dict[str, str]) -> str:
    return division_of.get(unit, UNASSIGNED)


def _clock_rows(clocks: dict[tuple[str, str], ClockOutcome], division_of: dict[str, str]) -> list[ClockRow]:
    rows: dict[tuple[str, str, str], ClockRow] = {}
    for (_, clock), state in clocks.items():
        unit = state.unit or UNASSIGNED
        for level, org in (("unit", unit), ("division", _division(unit, division_of)), ("branch", "all")):
            row = rows.setdefault((level, org, clock), ClockRow(level, org, clock))
            if state.void:
                continue
            if state.breached:
                row.breached += 1
            elif state.met:
                row.met += 1
            else:
                row.running += 1
    levels = {"unit": 0, "division": 1, "branch": 2}
    return sorted(rows.values(), key=lambda r: (levels[r.level], r.org_id, CLOCK_ORDER.index(r.clock)))


def _org_rows(units: dict[str, OrgRow], division_of: dict[str, str]) -> list[OrgRow]:
    divisions: dict[str, OrgRow] = {}
    branch = OrgRow("branch", "all")
    for row in units.values():
        division = divisions.setdefault(
            _division(row.org_id, division_of), OrgRow("division", _division(row.org_id, division_of))
        )
        for target in (division, branch):
            target.counts.update(row.counts)
            target.ratings.extend(row.ratings)
    return (
        sorted(units.values(), key=lambda r: r.org_id) + sorted(divisions.values(), key=lambda r: r.org_id) + [branch]
    )
