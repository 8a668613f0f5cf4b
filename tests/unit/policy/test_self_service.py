"""The self-service code and rating rules from tables of cases (shared/policy/self_service.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.policy.self_service import (
    CodeCheck,
    CodePolicy,
    CodeState,
    CustomerStep,
    check_code,
    customer_step,
    may_rate,
    new_code,
    tries_left,
    wait_before_new_code,
)

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
POLICY = CodePolicy()


def test_a_code_is_six_digits_and_keeps_its_leading_zeros() -> None:
    codes = {new_code(POLICY) for _ in range(2000)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 1900  # random, not a counter
    assert any(c.startswith("0") for c in codes)


@pytest.mark.parametrize(
    ("ago_seconds", "wait_seconds"),
    [
        ([], None),
        ([10], 50),
        ([59], 1),
        ([60], None),
        ([3599, 3000, 2000, 1000, 100], 1),  # 5 within the hour: wait until the oldest leaves it
        ([3500, 3000, 2000, 1000, 100], 100),
        ([3500, 3000, 2000, 1000, 30], 100),  # both limits: the longer wait
        ([3600, 3000, 2000, 1000, 100], None),  # the oldest left the hour
        ([3601, 3000, 2000, 1000, 100], None),
    ],
)
def test_how_long_a_phone_waits_for_another_code(ago_seconds: list[int], wait_seconds: int | None) -> None:
    sent = [NOW - timedelta(seconds=s) for s in ago_seconds]
    wait = wait_before_new_code(POLICY, sent, NOW)
    assert wait == (None if wait_seconds is None else timedelta(seconds=wait_seconds))


def test_the_sixth_code_in_an_hour_waits_for_the_first_to_leave_it() -> None:
    sent = [NOW - timedelta(minutes=m) for m in (50, 40, 30, 20, 10)]
    assert wait_before_new_code(POLICY, sent, NOW) == timedelta(minutes=10)


@pytest.mark.parametrize(
    ("wrong", "used", "expired", "matches", "outcome", "wrong_after"),
    [
        (0, False, False, True, CodeCheck.ACCEPTED, 0),
        (4, False, False, True, CodeCheck.ACCEPTED, 4),
        (0, False, False, False, CodeCheck.WRONG, 1),
        (3, False, False, False, CodeCheck.WRONG, 4),
        (4, False, False, False, CodeCheck.LOCKED, 5),  # the 5th wrong try locks it
        (5, False, False, True, CodeCheck.LOCKED, 5),  # locked: even the right code is refused
        (0, False, True, True, CodeCheck.EXPIRED, 0),
        (0, True, False, True, CodeCheck.USED, 0),
        (2, False, True, False, CodeCheck.EXPIRED, 2),  # a try on an expired code costs nothing
    ],
)
def test_one_try_of_a_code(
    wrong: int, used: bool, expired: bool, matches: bool, outcome: CodeCheck, wrong_after: int
) -> None:
    expires = NOW - timedelta(seconds=1) if expired else NOW + timedelta(minutes=5)
    assert check_code(POLICY, CodeState(expires, wrong, used), matches, NOW) == (outcome, wrong_after)


def test_a_code_expires_at_its_instant() -> None:
    assert check_code(POLICY, CodeState(NOW, 0, False), True, NOW)[0] is CodeCheck.EXPIRED


@given(st.lists(st.booleans(), max_size=20))
def test_no_sequence_of_tries_gets_more_than_five_wrong_guesses(tries: list[bool]) -> None:
    state, guesses = CodeState(NOW + timedelta(minutes=5), 0, False), 0
    for matches in tries:
        outcome, wrong = check_code(POLICY, state, matches, NOW)
        if outcome in (CodeCheck.WRONG, CodeCheck.LOCKED) and wrong > state.wrong:
            guesses += 1
        state = CodeState(state.expires_at, wrong, outcome is CodeCheck.ACCEPTED)
    assert guesses <= 5
    assert tries_left(POLICY, state.wrong) == 5 - state.wrong


@pytest.mark.parametrize(
    ("event_type", "appointment", "step"),
    [
        ("TicketReceived", False, CustomerStep.RECEIVED),
        ("TicketDispatched", False, CustomerStep.DISPATCHED),
        ("CustomerContacted", False, CustomerStep.CONTACTED),
        ("CustomerContacted", True, CustomerStep.APPOINTMENT),
        ("ReplyApproved", False, CustomerStep.RESOLVED),
        ("TicketClosed", False, CustomerStep.CLOSED),
        ("TicketReturned", False, None),  # the center's internals stay with the center
        ("SlaBreached", False, None),
        ("ExtensionRequested", False, None),
        ("ReplyRejected", False, None),
    ],
)
def test_what_a_customer_sees_of_an_event(event_type: str, appointment: bool, step: CustomerStep | None) -> None:
    assert customer_step(event_type, appointment=appointment) is step


@pytest.mark.parametrize(
    ("status", "rated", "why"),
    [("closed", False, None), ("closed", True, "already_rated"), ("dispatched", False, "not_finished")],
)
def test_when_a_customer_may_rate(status: str, rated: bool, why: str | None) -> None:
    assert may_rate(status, rated) == why
