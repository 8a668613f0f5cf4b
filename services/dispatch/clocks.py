"""The clocks of one ticket as the unit and the center see them: start, deadline (shared policy), stop, time left."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from services.dispatch.lifecycle import Status
from services.dispatch.store import Extension, Ticket
from shared.branch_config import BranchPolicies
from shared.policy import deadline_for
from shared.policy.limits import UNIT_CLOCKS, SlaClock, clocks_for


@dataclass(frozen=True)
class ClockView:
    """One clock of one ticket at one instant."""

    clock: SlaClock
    started_at: datetime
    deadline: datetime
    provisional: bool  # RULES.md §3: the deadline reaches into a year with no schedule loaded
    extended: bool  # an approved extension moved the deadline (RULES.md §2)
    stopped_at: datetime | None
    remaining_seconds: float | None  # None once stopped; negative when overdue

    @property
    def running(self) -> bool:
        return self.stopped_at is None


def _start_and_stop(ticket: Ticket, clock: SlaClock) -> tuple[datetime | None, datetime | None]:
    # RULES.md §2: unit clocks run from the dispatch to the unit; resolve restarts at a reopening (§5)
    if clock is SlaClock.DISPATCH:
        running = ticket.state in (Status.QUEUED, Status.RETURNED)
        return ticket.dispatch_clock_from, None if running else ticket.dispatched_at
    if ticket.dispatched_at is None or ticket.state in (Status.QUEUED, Status.RETURNED):
        return None, None  # with the center: the unit clocks start again at the next dispatch
    if clock is SlaClock.CONTACT:
        return ticket.dispatched_at, ticket.contacted_at
    if clock is SlaClock.HANDLE:
        return ticket.dispatched_at, ticket.handle_stopped_at
    return ticket.resolve_clock_from or ticket.dispatched_at, ticket.replied_at


def granted_deadlines(ticket: Ticket, extensions: Iterable[Extension]) -> dict[SlaClock, datetime]:
    """The deadlines moved by approved extensions of the ticket's current dispatch and work round."""
    moved: dict[SlaClock, datetime] = {}
    for ext in sorted(extensions, key=lambda e: e.decided_at or e.requested_at):
        current = ext.dispatch_count == ticket.dispatch_count and ext.work_round == ticket.work_round
        if ext.status == "granted" and ext.new_deadline is not None and current:
            moved[SlaClock(ext.clock)] = ext.new_deadline
    return moved


def ticket_clocks(
    ticket: Ticket,
    now: datetime,
    policies: BranchPolicies,
    *,
    extensions: Iterable[Extension] = (),
    clocks: Iterable[SlaClock] = (SlaClock.DISPATCH, *UNIT_CLOCKS),
) -> list[ClockView]:
    """Every clock of `clocks` that runs for the ticket's category, with its deadline from shared.policy."""
    policy = policies.for_event(ticket.branch)  # a ticket dispatch already holds (shared.branch_config)
    own = set(clocks_for(ticket.category_enum))
    moved: Mapping[SlaClock, datetime] = granted_deadlines(ticket, extensions)
    views: list[ClockView] = []
    for clock in clocks:
        if clock not in own:
            continue
        start, stop = _start_and_stop(ticket, clock)
        if start is None:
            continue
        level = ticket.level if ticket.category_enum.value == "complaint" else None
        if clock is SlaClock.HANDLE and level is None:
            continue
        # RULES.md §2-§3: the same deadline engine as the SLA monitor
        computed = deadline_for(ticket.category_enum, clock, start, policy, policies.calendar, level=level)
        deadline = moved.get(clock, computed.at)
        if ticket.external_deadline is not None and ticket.external_deadline < deadline:
            deadline = ticket.external_deadline  # RULES.md §2, §6: the stricter 12345 deadline drives every clock
        deadline = deadline.astimezone(policy.timezone)
        remaining = None if stop is not None else (deadline - now).total_seconds()
        views.append(ClockView(clock, start, deadline, computed.provisional, clock in moved, stop, remaining))
    return views


def nearest_deadline(views: Iterable[ClockView]) -> datetime | None:
    """The earliest deadline among the running clocks (the inbox's sort key)."""
    running = [v.deadline for v in views if v.running]
    return min(running) if running else None
