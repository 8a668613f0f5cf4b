"""How one clock of one ticket ends for supervision (RULES.md §7 on-time rates, §2 clocks, §8 breaches).

A clock is `running` from its start, `met` when its step is done in time, `breached` once its deadline
passed (an SlaBreached: one per clock per ticket, never undone by a restart, RULES.md §8), or `void`
when it stopped without its step (the ticket was closed, or returned and started again elsewhere), which
counts neither way. The on-time rate of a clock is met / (met + breached). These transitions are the ones
the simulator's report applies (hotline/simulate/report.py), so the two agree on the same traffic.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Outcome(StrEnum):
    RUNNING = "running"
    MET = "met"
    BREACHED = "breached"
    VOID = "void"


@dataclass(frozen=True)
class ClockState:
    outcome: Outcome = Outcome.RUNNING
    unit: str | None = None  # the unit the clock counts against (None: the center's dispatch queue)


def started(state: ClockState | None, unit: str | None) -> ClockState:
    """A (re)start: at dispatch, re-dispatch, reopening, a new callback round; a breach stays a breach."""
    if state is not None and state.outcome is Outcome.BREACHED:
        return state
    return ClockState(Outcome.RUNNING, unit)


def finished(state: ClockState, unit: str | None) -> ClockState:
    """The clock's step was done (dispatched, contacted, replied, first callback attempt)."""
    if state.outcome is not Outcome.RUNNING:
        return state
    return ClockState(Outcome.MET, unit or state.unit)


def revived(state: ClockState) -> ClockState:
    """A rejected reply: the unit replies again against the same deadline, so a met clock runs again."""
    return replace(state, outcome=Outcome.RUNNING) if state.outcome is Outcome.MET else state


def voided(state: ClockState) -> ClockState:
    """Stopped without its step (closed, or returned before it): counts neither way."""
    return replace(state, outcome=Outcome.VOID) if state.outcome is Outcome.RUNNING else state


def unvoided(state: ClockState) -> ClockState:
    """A refused return: the ticket stays with the unit and its clocks run on as they were."""
    return replace(state, outcome=Outcome.RUNNING) if state.outcome is Outcome.VOID else state


def breached(state: ClockState | None, unit: str | None, holder: str | None) -> ClockState:
    """An SlaBreached, whatever came before (it may be read after the step, from another topic)."""
    previous = state.unit if state is not None else None
    return ClockState(Outcome.BREACHED, unit or previous or holder)
