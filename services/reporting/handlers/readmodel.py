"""The ticket read model: each event of hotline.tickets and hotline.sla into its ticket row, clocks and facts.

The transitions are those of the simulator's report (hotline/simulate/report.py), kept in
shared.policy.clock_outcomes, so the figures and that report agree on the same traffic (RULES.md §7).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.store import ReportClock, ReportFact, ReportTicket, ReportUnit
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
    ReplyRejected,
    ServiceRated,
    SlaBreached,
    SlaEscalated,
    SlaPayload,
    SlaWarning,
    TicketClosed,
    TicketDispatched,
    TicketPayload,
    TicketReceived,
    TicketReopened,
    TicketReplied,
    TicketResolvedOnFirstContact,
    TicketReturned,
    TicketReturnRefused,
    deterministic_event_id,
)
from shared.policy.categories import Category
from shared.policy.clock_outcomes import (
    ClockState,
    Outcome,
    breached,
    finished,
    revived,
    started,
    unvoided,
    voided,
)
from shared.policy.grading import GradeReason
from shared.policy.limits import clocks_for
from shared.zones import branch_zone

UNIT_CLOCKS = ("contact", "handle", "resolve")
REPEAT_REASONS = {GradeReason.SAME_CUSTOMER_REPEATS, GradeReason.DISTINCT_COMPLAINANTS}
LOAD_CHUNK = 500  # ticket ids per IN (...) of a batch's load
COLLECTIVE_SIZE = 5  # RULES.md §4: five or more complainants make a collective complaint


def channel_of(received: TicketReceived) -> str:
    """The reporting channel: a callback's new request, a 12345 task, a CTI call, else the intake channel."""
    if received.parent_ticket_id is not None:
        return "callback"
    if received.channel == "gov12345":
        return "12345"
    if received.channel == "phone" and received.call_id is not None:
        return "cti"
    return received.channel


def clocks_of(category: str | None) -> set[str]:
    try:
        return {c.value for c in clocks_for(Category(category or ""))}
    except (ValueError, KeyError):
        return set()


class BatchRows:
    """The rows one batch of events touches, read with one query per table before the batch is applied.

    The rebuild and the live consumer apply a batch in memory and write it with one flush (the inserts and
    updates of the whole batch as executemany statements), not a lookup and a flush per event.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.tickets: dict[str, ReportTicket] = {}
        self.clocks: dict[tuple[str, str], ReportClock] = {}
        self.units: dict[tuple[str, str], ReportUnit] = {}
        self._dropped: dict[tuple[str, str], ReportClock] = {}  # deleted at the flush unless started again

    async def load(self, events: Sequence[Event[Any]]) -> None:
        ids = sorted({e.ticket_id for e in events if e.ticket_id is not None})
        t, c, u = ReportTicket, ReportClock, ReportUnit
        for start in range(0, len(ids), LOAD_CHUNK):
            chunk = ids[start : start + LOAD_CHUNK]
            for ticket in (await self.session.scalars(select(t).where(t.ticket_id.in_(chunk)))).all():
                self.tickets[ticket.ticket_id] = ticket
            for clock in (await self.session.scalars(select(c).where(c.ticket_id.in_(chunk)))).all():
                self.clocks[(clock.ticket_id, clock.clock)] = clock
        branches = sorted({e.branch for e in events})
        if branches:
            for unit in (await self.session.scalars(select(u).where(u.branch.in_(branches)))).all():
                self.units[(unit.branch, unit.unit_id)] = unit

    def ticket(self, event: Event[Any]) -> ReportTicket:
        """The event's ticket row, new if the batch and the store have none (it may come before its receipt)."""
        key = str(event.ticket_id)
        row = self.tickets.get(key)
        if row is None:
            row = ReportTicket(ticket_id=key, branch=event.branch, reopen_count=0)
            self.session.add(row)
            self.tickets[key] = row
        return row

    def clock_row(self, ticket_id: str, name: str, branch: str) -> ReportClock:
        key = (ticket_id, name)
        found = self.clocks.get(key) or self._dropped.pop(key, None)
        if found is None:
            found = ReportClock(ticket_id=ticket_id, clock=name, branch=branch)
            self.session.add(found)
        self.clocks[key] = found
        return found

    def drop_clock(self, ticket_id: str, name: str) -> None:
        found = self.clocks.pop((ticket_id, name), None)
        if found is not None:
            self._dropped[(ticket_id, name)] = found

    def clock_names(self, ticket_id: str) -> tuple[str, ...]:
        return tuple(sorted(name for (ticket, name) in self.clocks if ticket == ticket_id))

    def unit_division(self, branch: str, unit: str, division: str, *, overwrite: bool) -> None:
        found = self.units.get((branch, unit))
        if found is None:
            found = ReportUnit(branch=branch, unit_id=unit, division_id=division)
            self.session.add(found)
            self.units[(branch, unit)] = found
        elif overwrite:
            found.division_id = division

    async def flush(self) -> None:
        """Write the batch: its new and changed rows, and the clocks it dropped."""
        for row in self._dropped.values():
            if row in self.session.new:
                self.session.expunge(row)  # started and dropped within the batch: never written
            else:
                await self.session.delete(row)
        self._dropped.clear()
        await self.session.flush()


class _Ticket:
    """One ticket's rows in this batch: the ticket, its clocks, its facts."""

    def __init__(self, rows: BatchRows, event: Event[Any], row: ReportTicket) -> None:
        self.rows, self.event, self.row = rows, event, row

    def clock(self, name: str) -> ClockState | None:
        found = self.rows.clocks.get((self.row.ticket_id, name))
        return None if found is None else ClockState(Outcome(found.outcome), found.unit_id)

    def put(self, name: str, state: ClockState) -> None:
        found = self.rows.clock_row(self.row.ticket_id, name, self.row.branch)
        found.outcome, found.unit_id = state.outcome.value, state.unit

    def start(self, name: str, unit: str | None) -> None:
        self.put(name, started(self.clock(name), unit))

    def change(self, names: tuple[str, ...], how: Any) -> None:
        for name in names:
            state = self.clock(name)
            if state is not None:
                self.put(name, how(state))

    def fact(self, kind: str, unit: str | None, value: int | None = None) -> None:
        self.rows.session.add(
            ReportFact(
                event_id=deterministic_event_id(str(self.event.event_id), kind),
                ticket_id=self.row.ticket_id,
                branch=self.row.branch,
                kind=kind,
                unit_id=unit,
                occurred_at=self.event.occurred_at,
                value=value,
            )
        )


def _received(row: ReportTicket, event: Event[Any], p: TicketReceived) -> None:
    row.ticket_number, row.category = p.ticket_number, p.category.value
    row.subtype = p.subtype.value if p.subtype is not None else None
    row.channel, row.received_at = channel_of(p), p.received_at
    day = p.received_at.astimezone(branch_zone(event.branch)).date()
    row.received_day, row.received_week, row.received_month = (
        day,
        day - timedelta(days=day.weekday()),
        day.replace(day=1),
    )
    row.unit_id = row.unit_id or p.unit_id
    row.external_deadline = p.external_deadline
    if p.complaint is not None:
        level = int(p.complaint.level)
        row.complaint_level = level if row.complaint_level is None else min(row.complaint_level, level)
        row.collective = row.collective or p.complaint.collective or p.complaint.complainant_count >= COLLECTIVE_SIZE


def project(rows: BatchRows, event: Event[Any]) -> None:
    """Apply one (first-seen) ticket or SLA event to the batch's rows (written at its flush)."""
    p = event.payload
    if event.ticket_id is None or not isinstance(p, TicketPayload | SlaPayload):
        return
    row = rows.ticket(event)
    t, holder = _Ticket(rows, event, row), row.unit_id
    match p:
        case TicketReceived():
            _received(row, event, p)
            if "dispatch" in clocks_of(row.category):
                t.start("dispatch", p.unit_id)
        case TicketResolvedOnFirstContact():
            row.resolved_on_first_contact = True
            rows.drop_clock(row.ticket_id, "dispatch")  # closed on the call: no dispatch clock was owed
        case TicketDispatched(unit_id=unit, division_id=division):
            t.fact("dispatched", unit)
            row.unit_id, row.division_id = unit, division
            row.dispatched_at = row.dispatched_at or event.occurred_at
            rows.unit_division(row.branch, unit, division, overwrite=True)
            t.change(("dispatch",), lambda s: finished(s, unit))
            for clock in sorted(clocks_of(p.category.value) & set(UNIT_CLOCKS)):
                t.start(clock, unit)  # RULES.md §2: unit clocks run from (each) dispatch
        case CustomerContacted(unit_id=unit):
            t.change(("contact",), lambda s: finished(s, unit))
        case TicketReplied(unit_id=unit):
            row.replied_at = row.replied_at or event.occurred_at
            t.change(("handle", "resolve"), lambda s: finished(s, unit))
        case ReplyRejected():
            t.change(("handle", "resolve"), revived)
        case ComplaintGraded(level=level, reasons=reasons):
            row.complaint_level = int(level) if row.complaint_level is None else min(row.complaint_level, int(level))
            row.repeat = row.repeat or bool(REPEAT_REASONS & set(reasons))
            row.collective = row.collective or GradeReason.COLLECTIVE in reasons
        case TicketReturned(unit_id=unit):
            t.fact("return", unit)  # counted against the unit that returned it
            t.change(UNIT_CLOCKS, voided)  # they start again at the new dispatch
            if t.clock("dispatch") is not None:
                t.start("dispatch", None)  # RULES.md §2 policy default: restarts at the return
        case TicketReturnRefused(unit_id=unit):
            t.fact("return_refused", unit)
            t.change(("dispatch",), lambda s: finished(s, unit))
            t.change(UNIT_CLOCKS, unvoided)
        case ExtensionRequested(unit_id=unit):
            t.fact("extension_requested", unit)
        case ExtensionGranted(unit_id=unit):
            t.fact("extension_granted", unit)
        case ExtensionDenied(unit_id=unit):
            t.fact("extension_denied", unit)
        case TicketReopened(unit_id=unit):
            t.fact("reopened", unit)
            row.reopen_count += 1
            if "resolve" in clocks_of(row.category):
                t.start("resolve", unit)  # RULES.md §5: the resolve clock starts again
        case CallbackScheduled(reason="reply_received"):
            t.start("callback", holder)
        case CallbackAttempted(outcome=outcome):
            t.fact(f"attempt:{outcome}", holder)
            t.change(("callback",), lambda s: finished(s, holder))  # RULES.md §5: the first attempt stops it
        case CallbackCompleted(unit_id=unit, division_id=division):
            rows.unit_division(row.branch, unit, division, overwrite=False)
            t.fact("callback_completed", unit)
            row.callback_outcome = "completed"
            if p.satisfaction is not None:
                t.fact("survey", unit, p.satisfaction)
                if p.problem_solved:
                    t.fact("solved", unit)
                row.satisfaction, row.problem_solved = p.satisfaction, p.problem_solved
            for question, answer in sorted(p.answers.items()):  # the branch's own questions (issue 18)
                t.fact(f"answer:{question}", unit, answer)
        case ServiceRated(rating=rating):  # the customer's own rating on the self-service page (issue 21)
            t.fact("rating", holder, rating)
        case CallbackAbandoned():
            t.fact("callback_abandoned", holder)
            row.callback_outcome = "abandoned"
        case SlaWarning(unit_id=unit):
            t.fact("warning", unit or holder)
        case SlaBreached(clock=clock, unit_id=unit):
            state = breached(t.clock(clock.value), unit, holder)
            t.put(clock.value, state)
            t.fact(f"breach:{clock.value}", state.unit, int(p.late_by_seconds))  # the worst ones lead the bulletin
        case SlaEscalated(to_level=to_level, unit_id=unit, clock=clock):
            t.fact(f"escalation_{to_level}:{clock.value}", unit or holder)
        case TicketClosed(reason=reason):
            row.closed_at, row.close_reason = event.occurred_at, reason
            t.change(rows.clock_names(row.ticket_id), voided)  # RULES.md §8: closing stops every clock still running
        case _:
            pass
