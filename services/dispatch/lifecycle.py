"""The dispatch side of a ticket's life in one place: its statuses, the actions, and which action is allowed when."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from shared.auth.roles import Role


class Status(StrEnum):
    """Where a ticket stands on the dispatch side."""

    QUEUED = "queued"  # in the center's manual-dispatch queue: no rule could route it
    DISPATCHED = "dispatched"  # sent to a unit, not yet accepted
    ACCEPTED = "accepted"  # the unit took it on (contact and extensions happen here)
    RETURNED = "returned"  # the unit sent it back; the center decides (RULES.md §2, §15(三))
    REPLIED = "replied"  # the unit's reply waits for the center's review
    APPROVED = "approved"  # the center approved the reply; the callback service has it
    CLOSED = "closed"  # closed by the center, by the callback service, or answered on the call


class Action(StrEnum):
    """What someone (or an event) does to a ticket."""

    QUEUE = "queue"  # worker: no rule routes it
    DISPATCH = "dispatch"  # worker or center: to a unit (also a correction / re-dispatch)
    ACCEPT = "accept"  # unit
    CONTACT = "contact"  # unit: record customer contact
    RETURN = "return"  # unit
    REQUEST_EXTENSION = "request_extension"  # unit
    REPLY = "reply"  # unit
    APPROVE = "approve"  # center
    REJECT = "reject"  # center: the reply goes back to the unit
    REFUSE_RETURN = "refuse_return"  # center: the ticket stays with the unit
    CLOSE = "close"  # center, with a reason
    DECIDE_EXTENSION = "decide_extension"  # center: grant or deny
    FLAG = "flag"  # center or division: supervision flag (督办) or spot-check mark
    REOPEN = "reopen"  # callback service: the reply did not match the facts
    FINISH = "finish"  # callback service (TicketClosed) or intake (answered on the call)


_WORKING = (Status.DISPATCHED, Status.ACCEPTED)
_OPEN = (Status.QUEUED, Status.DISPATCHED, Status.ACCEPTED, Status.RETURNED, Status.REPLIED)

# Action -> {status it is allowed from: status it leads to (None: unchanged)}
TRANSITIONS: Mapping[Action, Mapping[Status, Status | None]] = {
    Action.QUEUE: {Status.RETURNED: Status.QUEUED},
    # manual dispatch from the queue; correct-and-re-dispatch after a return; a correction
    # before the unit has replied (RULES.md §2: the center corrects and re-dispatches)
    Action.DISPATCH: {
        Status.QUEUED: Status.DISPATCHED,
        Status.RETURNED: Status.DISPATCHED,
        Status.DISPATCHED: Status.DISPATCHED,
        Status.ACCEPTED: Status.DISPATCHED,
    },
    Action.ACCEPT: {Status.DISPATCHED: Status.ACCEPTED},
    Action.CONTACT: {Status.ACCEPTED: None},
    Action.RETURN: {Status.DISPATCHED: Status.RETURNED, Status.ACCEPTED: Status.RETURNED},
    # RULES.md §2 (§15(二)2): an extension is asked while the unit holds the ticket
    Action.REQUEST_EXTENSION: {s: None for s in _WORKING},
    Action.REPLY: {Status.ACCEPTED: Status.REPLIED},
    Action.APPROVE: {Status.REPLIED: Status.APPROVED},
    Action.REJECT: {Status.REPLIED: Status.ACCEPTED},
    # the ticket goes back to the unit in the state it was returned from (see `after_refused_return`)
    Action.REFUSE_RETURN: {Status.RETURNED: Status.ACCEPTED},
    Action.CLOSE: {Status.QUEUED: Status.CLOSED, Status.RETURNED: Status.CLOSED},
    Action.DECIDE_EXTENSION: {s: None for s in (*_WORKING, Status.RETURNED, Status.REPLIED)},
    Action.FLAG: {s: None for s in (*_OPEN, Status.APPROVED)},
    # RULES.md §5: back to the same unit, which replies again
    Action.REOPEN: {Status.APPROVED: Status.ACCEPTED, Status.CLOSED: Status.ACCEPTED},
    Action.FINISH: {s: Status.CLOSED for s in (*_OPEN, Status.APPROVED)},
}

# the actions people take through the API (the others come from events)
HUMAN_ACTIONS: frozenset[Action] = frozenset(TRANSITIONS) - {Action.QUEUE, Action.REOPEN, Action.FINISH}

_UNIT = frozenset({Role.UNIT_HANDLER})
_CENTER = frozenset({Role.CENTER_SUPERVISOR})
# who takes each human action (the routes declare the same roles; a test holds them together): the unit
# works the ticket, the center dispatches, reviews and decides (RULES.md §2, §9), supervisors flag (§7)
ACTION_ROLES: Mapping[Action, frozenset[Role]] = {
    Action.DISPATCH: _CENTER,
    Action.ACCEPT: _UNIT,
    Action.CONTACT: _UNIT,
    Action.RETURN: _UNIT,
    Action.REQUEST_EXTENSION: _UNIT,
    Action.REPLY: _UNIT,
    Action.APPROVE: _CENTER,
    Action.REJECT: _CENTER,
    Action.REFUSE_RETURN: _CENTER,
    Action.CLOSE: _CENTER,
    Action.DECIDE_EXTENSION: _CENTER,
    Action.FLAG: frozenset({Role.CENTER_SUPERVISOR, Role.DIVISION_SUPERVISOR}),
}


class IllegalTransition(Exception):
    """An action not allowed in the ticket's current status (the API answers 409)."""

    def __init__(self, action: Action, current: Status, version: int | None = None) -> None:
        self.action = action
        self.current = current
        self.version = version
        self.allowed = allowed_actions(current)
        allowed = ", ".join(a.value for a in self.allowed) or "none"
        super().__init__(f"cannot {action.value} a ticket that is {current.value}; allowed now: {allowed}")


class StaleVersion(Exception):
    """Someone else changed the ticket first (optimistic concurrency; the API answers 409)."""

    def __init__(self, current: Status, version: int, expected: int | None = None) -> None:
        self.current = current
        self.version = version
        self.expected = expected
        self.allowed = allowed_actions(current)
        what = f"version {expected}" if expected is not None else "the version you read"
        super().__init__(f"the ticket changed since {what}: it is now {current.value}, version {version}")


def allowed_actions(status: Status, role: Role | None = None) -> tuple[Action, ...]:
    """The human actions allowed in `status` (to `role` when given), in a stable order."""
    return tuple(
        a
        for a in Action
        if a in HUMAN_ACTIONS and status in TRANSITIONS[a] and (role is None or role in ACTION_ROLES[a])
    )


def next_status(current: Status, action: Action, *, version: int | None = None) -> Status:
    """The status after `action`, or IllegalTransition; unchanged for actions that keep the status."""
    allowed = TRANSITIONS[action]
    if current not in allowed:
        raise IllegalTransition(action, current, version)
    target = allowed[current]
    return current if target is None else target


def after_refused_return(returned_from: Status | None) -> Status:
    """A refused return puts the ticket back as the unit left it (not accepted yet, or accepted)."""
    return Status.DISPATCHED if returned_from is Status.DISPATCHED else Status.ACCEPTED
