"""Sign-in rules from tables of cases: password policy, lockout escalation, IdP groups to roles."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.policy.sign_in import (
    ClaimMapping,
    LockoutPolicy,
    PasswordPolicy,
    after_failure,
    is_locked,
    map_claims,
    password_problems,
)

POLICY = PasswordPolicy()
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short", "at least 12"),
        ("li.na-is-my-password", "username"),
        ("LI.NA-is-my-password", "username"),
        ("Password1234", "common"),
        ("ＰＡＳＳＷＯＲＤ１２３４", "common"),  # full-width spelling of the same
        ("aaaaaaaaaaaaaa", "repeated"),
        ("x" * 129, "at most 128"),
    ],
)
def test_refused_passwords_say_why(password: str, problem: str) -> None:
    assert any(problem in p for p in password_problems(POLICY, password, username="li.na"))


@pytest.mark.parametrize("password", ["correct horse battery", "燃气热线值班表-2026年", "a1b2c3d4e5f6g7"])
def test_long_unusual_passwords_pass(password: str) -> None:
    assert password_problems(POLICY, password, username="li.na") == []


def _acceptable_shape(text: str) -> bool:
    folded = unicodedata.normalize("NFKC", text)
    return 12 <= len(folded) <= 128 and len(set(folded)) > 1 and "li.na" not in folded.casefold()


@given(st.text(min_size=12, max_size=60).filter(_acceptable_shape))
def test_no_composition_rules_any_long_text_without_the_name_passes(password: str) -> None:
    assert password_problems(POLICY, password, username="li.na") == [] or password.casefold() in POLICY.common


@pytest.mark.parametrize(
    ("failures_before", "locked_for"),
    [(0, None), (3, None), (4, timedelta(minutes=15)), (5, None), (9, timedelta(minutes=30)), (14, timedelta(hours=1))],
)
def test_the_fifth_failure_locks_and_each_further_five_doubles_the_lock(
    failures_before: int, locked_for: timedelta | None
) -> None:
    outcome = after_failure(LockoutPolicy(), failures_before, NOW)
    assert outcome.failures == failures_before + 1
    assert outcome.locked_until == (NOW + locked_for if locked_for else None)


def test_the_lock_is_capped_and_ends() -> None:
    outcome = after_failure(LockoutPolicy(), 5 * 20 - 1, NOW)
    assert outcome.locked_until == NOW + timedelta(hours=24)
    assert is_locked(outcome.locked_until, NOW + timedelta(hours=23))
    assert not is_locked(outcome.locked_until, NOW + timedelta(hours=24))


def test_groups_map_to_roles_in_the_mapping_order_and_to_a_unit() -> None:
    mapping = ClaimMapping(
        roles={"/hotline/handlers": "unit_handler", "/hotline/agents": "agent"},
        units={"/units/qingxiu": "U-QINGXIU"},
    )
    person = map_claims(mapping, {"groups": ["/hotline/agents", "/units/qingxiu", "/hotline/handlers", "/other"]})
    assert person.roles == ("unit_handler", "agent") and person.unit == "U-QINGXIU" and person.division is None
    # without the leading slash (an IdP that sends group names, not paths) the same mapping applies
    assert map_claims(ClaimMapping(roles={"hotline/agents": "agent"}), {"groups": ["/hotline/agents"]}).roles == (
        "agent",
    )
    assert map_claims(mapping, {"groups": ["/other"]}).roles == ()
