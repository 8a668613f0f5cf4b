"""The ticket read model: each event of hotline.tickets and hotline.sla into its ticket row, clocks and facts.

The transitions are those of the simulator's report (hotline/simulate/report.py), kept in
shared.policy.clock_outcomes, so the figures and that report agree on the same traffic (RULES.md §7).
"""

from __future__ import annotations

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


class _Ticket:
    """One ticket's rows in this transaction: the ticket, its clocks, its facts."""

    def __init__(self, session: AsyncSession, event: Event[Any], row: ReportTicket) -> None:
        self.session, self.event, self.row = session, event, row

    async def clock(self, name: str) -> ClockState | None:
        found = await self.session.get(ReportClock, (self.row.ticket_id, name))
        return None if found is None else ClockState(Outcome(found.outcome), found.unit_id)

    async def put(self, name: str, state: ClockState) -> None:
        found = await self.session.get(ReportClock, (self.row.ticket_id, name))
        if found is None:
            found = ReportClock(ticket_id=self.row.ticket_id, clock=name, branch=self.row.branch)
            self.session.add(found)
        found.outcome, found.unit_id = state.outcome.value, state.unit

    async def start(self, name: str, unit: str | None) -> None:
        await self.put(name, started(await self.clock(name), unit))

    async def change(self, names: tuple[str, ...], how: Any) -> None:
        for name in names:
            state = await self.clock(name)
            if state is not None:
                await self.put(name, how(state))

    def fact(self, kind: str, unit: str | None, value: int | None = None) -> None:
        self.session.add(
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


async def _unit_division(session: AsyncSession, branch: str, unit: str, division: str, *, overwrite: bool) -> None:
    found = await session.get(ReportUnit, (branch, unit))
    if found is None:
        session.add(ReportUnit(branch=branch, unit_id=unit, division_id=division))
    elif overwrite:
        found.division_id = division


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


async def project(session: AsyncSession, event: Event[Any]) -> None:
    """Apply one (first-seen) ticket or SLA event to the read model."""
    p = event.payload
    if event.ticket_id is None or not isinstance(p, TicketPayload | SlaPayload):
        return
    row = await session.get(ReportTicket, event.ticket_id)
    if row is None:
        row = ReportTicket(ticket_id=event.ticket_id, branch=event.branch, reopen_count=0)
        session.add(row)
    t, holder = _Ticket(session, event, row), row.unit_id
    match p:
        case TicketReceived():
            _received(row, event, p)
            if "dispatch" in clocks_of(row.category):
                await t.start("dispatch", p.unit_id)
        case TicketResolvedOnFirstContact():
            row.resolved_on_first_contact = True
            found = await session.get(ReportClock, (row.ticket_id, "dispatch"))
            if found is not None:  # closed on the call: no dispatch clock was owed
                await session.delete(found)
        case TicketDispatched(unit_id=unit, division_id=division):
            t.fact("dispatched", unit)
            row.unit_id, row.division_id = unit, division
            row.dispatched_at = row.dispatched_at or event.occurred_at
            await _unit_division(session, row.branch, unit, division, overwrite=True)
            await t.change(("dispatch",), lambda s: finished(s, unit))
            for clock in sorted(clocks_of(p.category.value) & set(UNIT_CLOCKS)):
                await t.start(clock, unit)  # RULES.md §2: unit clocks run from (each) dispatch
        case CustomerContacted(unit_id=unit):
            await t.change(("contact",), lambda s: finished(s, unit))
        case TicketReplied(unit_id=unit):
            row.replied_at = row.replied_at or event.occurred_at
            await t.change(("handle", "resolve"), lambda s: finished(s, unit))
        case ReplyRejected():
            await t.change(("handle", "resolve"), revived)
        case ComplaintGraded(level=level, reasons=reasons):
            row.complaint_level = int(level) if row.complaint_level is None else min(row.complaint_level, int(level))
            row.repeat = row.repeat or bool(REPEAT_REASONS & set(reasons))
            row.collective = row.collective or GradeReason.COLLECTIVE in reasons
        case TicketReturned(unit_id=unit):
            t.fact("return", unit)  # counted against the unit that returned it
            await t.change(UNIT_CLOCKS, voided)  # they start again at the new dispatch
            if await t.clock("dispatch") is not None:
                await t.start("dispatch", None)  # RULES.md §2 policy default: restarts at the return
        case TicketReturnRefused(unit_id=unit):
            t.fact("return_refused", unit)
            await t.change(("dispatch",), lambda s: finished(s, unit))
            await t.change(UNIT_CLOCKS, unvoided)
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
                await t.start("resolve", unit)  # RULES.md §5: the resolve clock starts again
        case CallbackScheduled(reason="reply_received"):
            await t.start("callback", holder)
        case CallbackAttempted(outcome=outcome):
            t.fact(f"attempt:{outcome}", holder)
            await t.change(("callback",), lambda s: finished(s, holder))  # RULES.md §5: the first attempt stops it
        case CallbackCompleted(unit_id=unit, division_id=division):
            await _unit_division(session, row.branch, unit, division, overwrite=False)
            t.fact("callback_completed", unit)
            row.callback_outcome = "completed"
            if p.satisfaction is not None:
                t.fact("survey", unit, p.satisfaction)
                if p.problem_solved:
                    t.fact("solved", unit)
                row.satisfaction, row.problem_solved = p.satisfaction, p.problem_solved
        case CallbackAbandoned():
            t.fact("callback_abandoned", holder)
            row.callback_outcome = "abandoned"
        case SlaWarning(unit_id=unit):
            t.fact("warning", unit or holder)
        case SlaBreached(clock=clock, unit_id=unit):
            state = breached(await t.clock(clock.value), unit, holder)
            await t.put(clock.value, state)
            t.fact(f"breach:{clock.value}", state.unit, int(p.late_by_seconds))  # the worst ones lead the bulletin
        case SlaEscalated(to_level=to_level, unit_id=unit, clock=clock):
            t.fact(f"escalation_{to_level}:{clock.value}", unit or holder)
        case TicketClosed(reason=reason):
            row.closed_at, row.close_reason = event.occurred_at, reason
            clocks = (
                await session.scalars(select(ReportClock.clock).where(ReportClock.ticket_id == row.ticket_id))
            ).all()
            await t.change(tuple(clocks), voided)  # RULES.md §8: closing stops every clock still running
        case _:
            pass
    await session.flush()  # the next event of the batch may be this ticket's: it must find these rows
