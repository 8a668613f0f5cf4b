"""What the monitor does with a ticket's lifecycle events and with time: start, stop and move its SLA clocks, and
announce the warnings, breaches, escalations and notices they owe (RULES.md §2, §3, §8). Pure: no I/O."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from services.sla_monitor.store import BREACHED, TO_CENTER, TO_DIVISION, WARNED, ClockTimer, TicketTimers
from shared.branch_config import BranchPolicies
from shared.events import (
    CallbackAttempted,
    ComplaintGraded,
    CustomerContacted,
    Event,
    ExtensionGranted,
    Payload,
    Recipient,
    ReplyApproved,
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
    UrgentNoticeRequested,
    deterministic_event_id,
    new_event,
)
from shared.policy import BranchPolicy, Category, ComplaintLevel, Limit, SlaClock, WorkingDayCalendar
from shared.policy.deadlines import apply_limit, deadline_for, warning_for
from shared.policy.escalation import Level, Reason, after_further_limit, at_breach
from shared.policy.limits import SERVICE_REQUEST_REFUSAL, UNIT_CLOCKS, LimitUnit, callback_kind, clocks_for, limit_for

PRODUCER = "sla_monitor"
REFUSED_LATE = "refused_late"  # a refusal replied after its limit: running only until its breach is out


def _epoch(instant: datetime) -> float:
    return instant.timestamp()


def _instant(epoch: float, policy: BranchPolicy) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC).astimezone(policy.timezone)


@dataclass(frozen=True)
class PolicyView:
    """The branch policy and the working-day calendar that deadlines are computed with."""

    branch: BranchPolicy
    calendar: WorkingDayCalendar
    center_id: str | None = None  # the center of the branch's org file, until dispatch names it on the ticket


def view_of(policies: BranchPolicies, branch: str) -> PolicyView:
    """The policy a ticket of `branch` is timed with (a branch without a file: the default's, shared.branch_config)."""
    return PolicyView(policies.for_event(branch), policies.calendar, policies.center_id(branch))


# ------------------------------------------------------------------ starting and moving clocks


def _start_clock(
    ticket: TicketTimers, clock: SlaClock, start: datetime, view: PolicyView, *, limit: Limit | None = None
) -> None:
    """(Re)start `clock` at `start`; what it already announced stays announced (RULES.md §8: never repeated)."""
    level = ticket.level if ticket.category is Category.COMPLAINT else None
    if limit is None:
        limit = limit_for(ticket.category, clock, level=level, overrides=view.branch.limits)
    # RULES.md §2-§3: deadline and warning only from the shared policy engine
    deadline = deadline_for(ticket.category, clock, start, view.branch, view.calendar, level=level)
    warning = warning_for(start, limit, view.branch, view.calendar)
    due, warn_at = _epoch(deadline.at), _epoch(warning.at)
    government = ticket.external_deadline
    if government is not None and government < due:
        # RULES.md §2 (§6): the stricter 12345 deadline drives the clock, its warning at the same share
        share = (government - _epoch(start)) * view.branch.warning_ratio
        due, warn_at = government, min(warn_at, _epoch(start) + share)
    # RULES.md §8: the center hears of it when a further full limit has passed
    center = apply_limit(_instant(due, view.branch), limit, view.branch, view.calendar)
    previous = ticket.clocks.get(clock)
    ticket.clocks[clock] = ClockTimer(
        clock=clock,
        start=_epoch(start),
        deadline=due,
        warn_at=warn_at,
        center_at=_epoch(center.at),
        limit=str(limit),
        provisional=deadline.provisional or center.provisional,
        emitted=previous.emitted if previous else "",
    )


def _stop(ticket: TicketTimers, clocks: Iterable[SlaClock], why: str) -> None:
    for clock in clocks:
        timer = ticket.clocks.get(clock)
        if timer is not None and timer.running:
            timer.running = False
            timer.stopped_by = why


def _revive(ticket: TicketTimers, why: str) -> None:
    for timer in ticket.clocks.values():
        if not timer.running and timer.stopped_by == why:
            timer.running = True
            timer.stopped_by = None


def _has_clock(category: Category, clock: SlaClock) -> bool:
    return clock in clocks_for(category)


def _more_severe(a: ComplaintLevel | None, b: ComplaintLevel | None) -> ComplaintLevel | None:
    # level 1 is the most severe; a grade only goes up (RULES.md §4)
    levels = [level for level in (a, b) if level is not None]
    return min(levels) if levels else None


def apply_event(ticket: TicketTimers | None, event: Event[Payload], view: PolicyView) -> TicketTimers | None:
    """The ticket's timers after `event` (None when the monitor has nothing to track for it).

    Applying the same event twice gives the same timers: every start and stop is taken from the
    event's own instants, so a redelivery changes nothing.
    """
    payload = event.payload
    assert event.ticket_id is not None
    if ticket is not None and ticket.closed:
        return ticket
    at = event.occurred_at
    match payload:
        case TicketReceived():
            if ticket is not None:
                return ticket  # a redelivery: the dispatch clock already runs from received_at
            ticket = TicketTimers(
                ticket_id=event.ticket_id,
                branch=event.branch,
                category=payload.category,
                level=payload.complaint.level if payload.complaint else None,
                unit_id=payload.unit_id,
                callback_mode=payload.callback.mode,
                callback_requested_at=_epoch(payload.callback.requested_at) if payload.callback.requested_at else None,
                external_deadline=_epoch(payload.external_deadline) if payload.external_deadline else None,
            )
            if _has_clock(payload.category, SlaClock.DISPATCH):
                # RULES.md §2: dispatch runs from receipt (earlier than occurred_at if back-filled)
                _start_clock(ticket, SlaClock.DISPATCH, payload.received_at, view)
            return ticket
        case TicketDispatched():
            if ticket is None:
                ticket = TicketTimers(ticket_id=event.ticket_id, branch=event.branch, category=payload.category)
            ticket.category = payload.category  # a correction may have changed it
            ticket.level = _more_severe(ticket.level, payload.complaint_level)
            if ticket.category is Category.COMPLAINT and ticket.level is None:
                ticket.level = ComplaintLevel.MINOR  # RULES.md §4: level 3 unless graded higher
            ticket.unit_id, ticket.division_id = payload.unit_id, payload.division_id
            ticket.center_id = payload.center_id or ticket.center_id
            if payload.external_deadline is not None:
                ticket.external_deadline = _epoch(payload.external_deadline)
            _stop(ticket, [SlaClock.DISPATCH], "dispatched")
            for clock in UNIT_CLOCKS:
                # RULES.md §2: unit clocks run from this dispatch (a re-dispatch starts them again)
                if _has_clock(ticket.category, clock):
                    _start_clock(ticket, clock, at, view)
                else:
                    _stop(ticket, [clock], "not_applicable")
            return ticket
    if ticket is None:
        return None  # a later step of a ticket the monitor never saw start: nothing to time
    match payload:
        case TicketResolvedOnFirstContact():
            _stop(ticket, list(ticket.clocks), "resolved_on_call")
            ticket.closed = True
        case CustomerContacted():
            _stop(ticket, [SlaClock.CONTACT], "contacted")
        case TicketReturned():
            # RULES.md §2 policy default: the dispatch clock restarts at the return; unit clocks at the new dispatch
            _stop(ticket, UNIT_CLOCKS, "returned")
            if _has_clock(ticket.category, SlaClock.DISPATCH):
                _start_clock(ticket, SlaClock.DISPATCH, at, view)
        case TicketReturnRefused():
            # the center refused the return: the ticket stays with the unit, its clocks as they were
            _stop(ticket, [SlaClock.DISPATCH], "return_refused")
            _revive(ticket, "returned")
        case ExtensionGranted():
            _extend(ticket, payload.clock, payload.new_deadline, view)  # RULES.md §2, §15(二)2
        case ComplaintGraded():
            _regrade(ticket, payload.level, view)
        case TicketReplied():
            late = payload.refused and _apply_refusal_limit(ticket, at, view)
            # the unit's step is done when its reply reaches the center (a late refusal first breaches)
            _stop(ticket, [c for c in UNIT_CLOCKS if not (late and c is SlaClock.RESOLVE)], "replied")
        case ReplyRejected():
            _revive(ticket, "replied")  # the unit has to reply again: its clocks were not met after all
        case ReplyApproved():
            _start_callback(ticket, payload.reply_received_at, view)
        case CallbackAttempted():
            _stop(ticket, [SlaClock.CALLBACK], "attempted")  # RULES.md §5: stops at the first attempt made
        case TicketReopened():
            # RULES.md §5: back to the same unit, resolve starts again from the reopening
            _stop(ticket, [SlaClock.CALLBACK], "reopened")
            if _has_clock(ticket.category, SlaClock.RESOLVE):
                _start_clock(ticket, SlaClock.RESOLVE, at, view)
        case TicketClosed():
            _stop(ticket, list(ticket.clocks), "closed")
            ticket.closed = True
    return ticket


def _apply_refusal_limit(ticket: TicketTimers, replied_at: datetime, view: PolicyView) -> bool:
    """RULES.md §2: a refused service request is explained and fed back within 2 wd of its dispatch; True when
    the refusal came later than that (the resolve clock then stays due until its breach is announced)."""
    timer = ticket.clocks.get(SlaClock.RESOLVE)
    if ticket.category is not Category.SERVICE_REQUEST or timer is None or not timer.running or timer.extended:
        return False
    started = datetime.fromtimestamp(timer.start, tz=UTC)
    refusal = deadline_for(ticket.category, SlaClock.RESOLVE, started, view.branch, view.calendar, refused=True)
    timer.deadline = min(timer.deadline, _epoch(refusal.at))
    timer.warn_at = min(timer.warn_at, timer.deadline)
    timer.limit = str(SERVICE_REQUEST_REFUSAL)
    late = timer.deadline < _epoch(replied_at) and BREACHED not in timer.emitted
    if late:
        timer.stopped_by = REFUSED_LATE
    return late


def _extend(ticket: TicketTimers, clock: SlaClock, new_deadline: datetime, view: PolicyView) -> None:
    timer = ticket.clocks.get(clock)
    if timer is None:
        return
    limit = Limit.parse(timer.limit)
    # an extension cannot reach past a 12345 task's government deadline (RULES.md §2, §6)
    timer.deadline = min(_epoch(new_deadline), ticket.external_deadline or math.inf)
    new_deadline = _instant(timer.deadline, view.branch)
    # the warning stays where the policy put it for the limit; the center ladder moves with the deadline
    timer.center_at = _epoch(apply_limit(new_deadline, limit, view.branch, view.calendar).at)
    timer.extended = True
    timer.provisional = False


def _regrade(ticket: TicketTimers, level: ComplaintLevel, view: PolicyView) -> None:
    if ticket.category is not Category.COMPLAINT:
        return
    raised = _more_severe(ticket.level, level)
    if raised == ticket.level:
        return
    ticket.level = raised
    timer = ticket.clocks.get(SlaClock.HANDLE)
    if timer is not None and timer.running and not timer.extended:
        # RULES.md §4: the handle deadline is recomputed from the dispatch instant
        _start_clock(ticket, SlaClock.HANDLE, datetime.fromtimestamp(timer.start, tz=UTC), view)


def _start_callback(ticket: TicketTimers, received_at: datetime, view: PolicyView) -> None:
    # RULES.md §2: a callback is owed per category, unless the customer declined one
    if callback_kind(ticket.category) is None or ticket.callback_mode == "declined":
        return
    if not _has_clock(ticket.category, SlaClock.CALLBACK):
        return
    existing = ticket.clocks.get(SlaClock.CALLBACK)
    if existing is not None and existing.start == _epoch(received_at):
        return  # the same approval again
    _start_clock(ticket, SlaClock.CALLBACK, received_at, view)
    timer = ticket.clocks[SlaClock.CALLBACK]
    requested = ticket.callback_requested_at
    if ticket.callback_mode == "customer_time" and requested is not None and requested > timer.deadline:
        # RULES.md §2: a customer-set time replaces the schedule
        timer.deadline = requested
        timer.center_at = _epoch(
            apply_limit(_instant(requested, view.branch), Limit.parse(timer.limit), view.branch, view.calendar).at
        )


# ------------------------------------------------------------------ calendar changes


def recompute_deadlines(ticket: TicketTimers, view: PolicyView) -> list[tuple[SlaClock, float, float]]:
    """RULES.md §3: recompute working-day deadlines after a calendar change; returns (clock, old, new) moved."""
    moved: list[tuple[SlaClock, float, float]] = []
    for timer in ticket.running():
        if timer.extended or BREACHED in timer.emitted:
            continue
        if Limit.parse(timer.limit).unit is not LimitUnit.WORKING_DAYS:
            continue
        old = timer.deadline
        start = datetime.fromtimestamp(timer.start, tz=UTC)
        emitted = timer.emitted
        _start_clock(ticket, timer.clock, start, view)
        fresh = ticket.clocks[timer.clock]
        fresh.emitted = emitted
        if fresh.deadline != old:
            moved.append((timer.clock, old, fresh.deadline))
    return moved


# ------------------------------------------------------------------ announcements


Kind = Literal["warning", "breach", "escalation", "notice"]


@dataclass(frozen=True)
class Announcement:
    """An SLA event owed by a clock, with the instant it fell due (for the detection-lag metric)."""

    kind: Kind
    clock: SlaClock
    due: float
    event: Event[Payload]


def _event(ticket: TicketTimers, payload: Payload, now: datetime, *id_parts: str) -> Event[Payload]:
    return new_event(
        payload,
        ticket_id=ticket.ticket_id,
        branch=ticket.branch,
        producer=PRODUCER,
        correlation_id=ticket.ticket_id,
        occurred_at=now,
        event_id=deterministic_event_id(payload.event_type, ticket.ticket_id, *id_parts),
    )


def fire_due(ticket: TicketTimers, now: datetime, view: PolicyView) -> list[Announcement]:
    """The announcements due at `now`, each marked as emitted on the ticket (so never owed again)."""
    out: list[Announcement] = []
    now_epoch = _epoch(now)
    branch = view.branch
    for timer in ticket.running():
        deadline = _instant(timer.deadline, branch)
        late = max(0.0, now_epoch - timer.deadline)
        if WARNED not in timer.emitted and BREACHED not in timer.emitted and timer.warn_at <= now_epoch:
            timer.emitted += WARNED
            if now_epoch < timer.deadline:  # past the deadline the breach says it all
                span = timer.deadline - timer.start
                share = min(1.0, (now_epoch - timer.start) / span) if span > 0 else 1.0
                warning = SlaWarning(
                    clock=timer.clock,
                    started_at=_instant(timer.start, branch),
                    deadline=deadline,
                    unit_id=ticket.unit_id,
                    division_id=ticket.division_id,
                    elapsed_share=max(0.0, share),
                    provisional=timer.provisional,
                )
                out.append(
                    Announcement("warning", timer.clock, timer.warn_at, _event(ticket, warning, now, timer.clock))
                )
        if BREACHED not in timer.emitted and timer.deadline <= now_epoch:
            timer.emitted += BREACHED
            breach = SlaBreached(
                clock=timer.clock,
                deadline=deadline,
                unit_id=ticket.unit_id,
                division_id=ticket.division_id,
                category=ticket.category,
                complaint_level=ticket.level,
                late_by_seconds=late,
                provisional=timer.provisional,
            )
            out.append(Announcement("breach", timer.clock, timer.deadline, _event(ticket, breach, now, timer.clock)))
            if timer.stopped_by == REFUSED_LATE:
                timer.running, timer.stopped_by = False, "replied"  # the refusal reply came: breached, then done
            # RULES.md §8: the ladder's rungs at breach (shared.policy.escalation); the center as the org tree names it
            for step in at_breach(urgent=ticket.urgent, has_division=ticket.division_id is not None):
                if step.to_level == "division" and ticket.division_id is not None:
                    if TO_DIVISION in timer.emitted:
                        continue
                    timer.emitted += TO_DIVISION
                    out.append(
                        _escalation(ticket, timer, "division", ticket.division_id, step.reason, now, late, branch)
                    )
                else:
                    timer.emitted += TO_CENTER
                    center = _center(ticket, view)
                    out.append(_escalation(ticket, timer, "center", center, step.reason, now, late, branch))
                if step.notice:
                    out.append(_urgent_notice(ticket, timer, now, _center(ticket, view)))
        elif timer.center_at <= now_epoch:
            further = after_further_limit(breached=BREACHED in timer.emitted, center_told=TO_CENTER in timer.emitted)
            if further is not None:
                timer.emitted += TO_CENTER
                center = _center(ticket, view)
                out.append(_escalation(ticket, timer, "center", center, further.reason, now, late, branch))
    return out


def _escalation(
    ticket: TicketTimers,
    timer: ClockTimer,
    to_level: Level,
    to_org_id: str,
    reason: Reason,
    now: datetime,
    late: float,
    branch: BranchPolicy,
) -> Announcement:
    payload = SlaEscalated(
        clock=timer.clock,
        deadline=_instant(timer.deadline, branch),
        to_level=to_level,
        to_org_id=to_org_id,
        unit_id=ticket.unit_id,
        division_id=ticket.division_id,
        reason=reason,
        late_by_seconds=late,
    )
    due = timer.center_at if reason == "further_limit_passed" else timer.deadline
    return Announcement("escalation", timer.clock, due, _event(ticket, payload, now, timer.clock, to_level))


def _center(ticket: TicketTimers, view: PolicyView) -> str:
    """The center's org id (RULES.md §8): as dispatch named it, else the branch's org file, else the branch."""
    return ticket.center_id or view.center_id or ticket.branch


def _urgent_notice(ticket: TicketTimers, timer: ClockTimer, now: datetime, center: str) -> Announcement:
    # RULES.md §8 / §15(二)1: urgent escalations also go out as phone / SMS notices
    recipients = [Recipient(org_level="center", org_id=center)]
    if ticket.division_id is not None:
        recipients.insert(0, Recipient(org_level="division", org_id=ticket.division_id))
    what = "gas alarm" if ticket.category is Category.ALARM else "level-1 complaint"
    notice = UrgentNoticeRequested(
        reason="sla_escalation",
        recipients=tuple(recipients),
        category=ticket.category,
        message=f"{what}: the {timer.clock.value} deadline has passed",
    )
    return Announcement("notice", timer.clock, timer.deadline, _event(ticket, notice, now, timer.clock, "notice"))
