"""The state machine: every allowed transition and every illegal one, from one table."""

from __future__ import annotations

import pytest

from services.dispatch.lifecycle import (
    ACTION_ROLES,
    HUMAN_ACTIONS,
    TRANSITIONS,
    Action,
    IllegalTransition,
    Status,
    after_refused_return,
    allowed_actions,
    next_status,
)
from shared.auth.roles import Role

S, A = Status, Action

EXPECTED: dict[Action, dict[Status, Status]] = {
    A.QUEUE: {S.RETURNED: S.QUEUED},
    A.DISPATCH: {
        S.QUEUED: S.DISPATCHED,
        S.RETURNED: S.DISPATCHED,
        S.DISPATCHED: S.DISPATCHED,
        S.ACCEPTED: S.DISPATCHED,
    },
    A.ACCEPT: {S.DISPATCHED: S.ACCEPTED},
    A.CONTACT: {S.ACCEPTED: S.ACCEPTED},
    A.RETURN: {S.DISPATCHED: S.RETURNED, S.ACCEPTED: S.RETURNED},
    A.REQUEST_EXTENSION: {S.DISPATCHED: S.DISPATCHED, S.ACCEPTED: S.ACCEPTED},
    A.REPLY: {S.ACCEPTED: S.REPLIED},
    A.APPROVE: {S.REPLIED: S.APPROVED},
    A.REJECT: {S.REPLIED: S.ACCEPTED},
    A.REFUSE_RETURN: {S.RETURNED: S.ACCEPTED},
    A.CLOSE: {S.QUEUED: S.CLOSED, S.RETURNED: S.CLOSED},
    A.DECIDE_EXTENSION: {
        S.DISPATCHED: S.DISPATCHED,
        S.ACCEPTED: S.ACCEPTED,
        S.RETURNED: S.RETURNED,
        S.REPLIED: S.REPLIED,
    },
    A.FLAG: {s: s for s in S if s is not S.CLOSED},
    A.REOPEN: {S.APPROVED: S.ACCEPTED, S.CLOSED: S.ACCEPTED},
    A.FINISH: {s: S.CLOSED for s in S if s is not S.CLOSED},
}

ALLOWED = [(a, s, t) for a, row in EXPECTED.items() for s, t in row.items()]
ILLEGAL = [(a, s) for a in Action for s in Status if s not in EXPECTED[a]]


def test_the_table_covers_every_action() -> None:
    assert set(TRANSITIONS) == set(Action) == set(EXPECTED)


@pytest.mark.parametrize(("action", "current", "target"), ALLOWED)
def test_allowed_transition(action: Action, current: Status, target: Status) -> None:
    assert next_status(current, action) is target


@pytest.mark.parametrize(("action", "current"), ILLEGAL)
def test_illegal_transition_names_the_status_and_what_is_allowed(action: Action, current: Status) -> None:
    with pytest.raises(IllegalTransition) as caught:
        next_status(current, action, version=7)
    assert caught.value.current is current
    assert caught.value.version == 7
    assert caught.value.allowed == allowed_actions(current)
    assert action not in caught.value.allowed


def test_allowed_actions_are_human_actions_only() -> None:
    assert allowed_actions(S.DISPATCHED) == (
        A.DISPATCH,
        A.ACCEPT,
        A.RETURN,
        A.REQUEST_EXTENSION,
        A.DECIDE_EXTENSION,
        A.FLAG,
    )
    assert allowed_actions(S.CLOSED) == ()
    for status in Status:
        assert set(allowed_actions(status)) <= HUMAN_ACTIONS


@pytest.mark.parametrize(
    ("returned_from", "back_to"),
    [(S.DISPATCHED, S.DISPATCHED), (S.ACCEPTED, S.ACCEPTED), (None, S.ACCEPTED)],
)
def test_a_refused_return_puts_the_ticket_back_as_the_unit_left_it(
    returned_from: Status | None, back_to: Status
) -> None:
    assert after_refused_return(returned_from) is back_to


def test_every_human_action_has_its_roles_and_only_they_see_it() -> None:
    assert set(ACTION_ROLES) == HUMAN_ACTIONS
    for status in S:
        for role in Role:
            offered = allowed_actions(status, role)
            assert set(offered) == {a for a in allowed_actions(status) if role in ACTION_ROLES[a]}
    assert allowed_actions(S.DISPATCHED, Role.UNIT_HANDLER) == (A.ACCEPT, A.RETURN, A.REQUEST_EXTENSION)
    assert allowed_actions(S.DISPATCHED, Role.DIVISION_SUPERVISOR) == (A.FLAG,)
    assert allowed_actions(S.REPLIED, Role.CENTER_SUPERVISOR) == (A.APPROVE, A.REJECT, A.DECIDE_EXTENSION, A.FLAG)
    assert allowed_actions(S.ACCEPTED, Role.AGENT) == ()
