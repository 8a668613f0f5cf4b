"""Customer self-service (issue 21): the one-time code's rules, what a customer sees of a ticket, when they may rate.

Data and pure functions, the time passed in. The code is 6 digits, expires, locks after 5 wrong tries, and a
phone may ask for a new one only so often (the issue's part 3). A customer sees milestones of their own
tickets, never the center's internals (RULES.md §6: results that are not public go only to the caller).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class CodePolicy:
    """How sign-in codes are made and checked (policy defaults, per deployment)."""

    digits: int = 6
    lifetime: timedelta = timedelta(minutes=5)
    max_wrong: int = 5  # the 5th wrong try locks the code
    resend_after: timedelta = timedelta(seconds=60)  # one code per phone per minute
    per_hour: int = 5  # and at most 5 an hour
    session_lifetime: timedelta = timedelta(minutes=30)


def new_code(policy: CodePolicy) -> str:
    """A uniformly random code of `policy.digits` digits (leading zeros kept)."""
    return f"{secrets.randbelow(10**policy.digits):0{policy.digits}d}"


def wait_before_new_code(policy: CodePolicy, sent_at: Sequence[datetime], now: datetime) -> timedelta | None:
    """How long the phone must wait before another code (None: send now); `sent_at` its earlier codes."""
    recent = sorted(t for t in sent_at if now - t < timedelta(hours=1))
    waits: list[timedelta] = []
    if recent and now - recent[-1] < policy.resend_after:
        waits.append(policy.resend_after - (now - recent[-1]))
    if len(recent) >= policy.per_hour:
        # the oldest of the last `per_hour` codes must leave the hour first
        waits.append(timedelta(hours=1) - (now - recent[-policy.per_hour]))
    return max(waits) if waits else None


class CodeCheck(StrEnum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    LOCKED = "locked"  # too many wrong tries: this code is dead, ask for a new one
    EXPIRED = "expired"
    USED = "used"


@dataclass(frozen=True, slots=True)
class CodeState:
    expires_at: datetime
    wrong: int
    used: bool


def check_code(policy: CodePolicy, state: CodeState, matches: bool, now: datetime) -> tuple[CodeCheck, int]:
    """The outcome of one try and the wrong count after it (a try on a dead code changes nothing)."""
    if state.used:
        return CodeCheck.USED, state.wrong
    if state.wrong >= policy.max_wrong:
        return CodeCheck.LOCKED, state.wrong
    if now >= state.expires_at:
        return CodeCheck.EXPIRED, state.wrong
    if matches:
        return CodeCheck.ACCEPTED, state.wrong
    wrong = state.wrong + 1
    return (CodeCheck.LOCKED if wrong >= policy.max_wrong else CodeCheck.WRONG), wrong


def tries_left(policy: CodePolicy, wrong: int) -> int:
    return max(0, policy.max_wrong - wrong)


class CustomerStep(StrEnum):
    """What a customer is told their ticket has reached (in the order it usually goes)."""

    RECEIVED = "received"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    CONTACTED = "contacted"
    APPOINTMENT = "appointment"
    REPLIED = "replied"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"


# ticket events a customer sees as a step; returns, extensions, SLA and reviews stay with the center (RULES.md §6)
STEP_OF_EVENT: Mapping[str, CustomerStep] = {
    "TicketReceived": CustomerStep.RECEIVED,
    "TicketDispatched": CustomerStep.DISPATCHED,
    "TicketAccepted": CustomerStep.ACCEPTED,
    "CustomerContacted": CustomerStep.CONTACTED,
    "TicketReplied": CustomerStep.REPLIED,
    "ReplyApproved": CustomerStep.RESOLVED,
    "TicketResolvedOnFirstContact": CustomerStep.RESOLVED,
    "TicketReopened": CustomerStep.REOPENED,
    "TicketClosed": CustomerStep.CLOSED,
}
# RULES.md §5 / issue 21: a customer rates the service once the ticket is finished
RATABLE = frozenset({CustomerStep.CLOSED})
RATINGS = range(1, 6)  # satisfaction 1-5, as the callback survey records it (RULES.md §5)
# what a customer may raise on the page (issue 21 part 3); alarms are phoned in, never typed
WEB_CATEGORIES = ("repair", "service_request", "complaint", "suggestion")


def customer_step(event_type: str, *, appointment: bool = False) -> CustomerStep | None:
    step = STEP_OF_EVENT.get(event_type)
    if step is CustomerStep.CONTACTED and appointment:
        return CustomerStep.APPOINTMENT
    return step


def may_rate(status: str, already_rated: bool) -> str | None:
    """Why the customer may not rate now (None: they may)."""
    if already_rated:
        return "already_rated"
    if status not in RATABLE:
        return "not_finished"
    return None
