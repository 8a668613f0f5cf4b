"""The knowledge workflow (RULES.md §7; regulation §9(六), §11(三)(八)): every status x action x person, no server."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.auth.roles import Role
from shared.policy import knowledge
from shared.policy.knowledge import (
    Action,
    IllegalTransition,
    NotAllowed,
    Relation,
    VersionStatus,
    allowed_actions,
    apply,
    freshness,
    is_stale,
    relation_of,
)

pytestmark = pytest.mark.unit
A, S, R = Action, VersionStatus, Relation

# Written out by hand from the issue, independently of TRANSITIONS: (status, action) -> (who, next status).
WRITERS = {R.OWNER_UNIT, R.OWNER_DIVISION}
EXPECTED: dict[tuple[VersionStatus, Action], tuple[set[Relation], VersionStatus]] = {
    (S.DRAFT, A.EDIT): (WRITERS, S.DRAFT),
    (S.DRAFT, A.SUBMIT): (WRITERS, S.SUBMITTED),
    (S.SUBMITTED, A.APPROVE): ({R.OWNER_DIVISION}, S.APPROVED),
    (S.SUBMITTED, A.SEND_BACK): ({R.OWNER_DIVISION}, S.DRAFT),
    (S.APPROVED, A.SEND_BACK): ({R.CENTER}, S.DRAFT),
    (S.APPROVED, A.PUBLISH): ({R.CENTER}, S.PUBLISHED),
    (S.PUBLISHED, A.NEW_VERSION): (WRITERS, S.PUBLISHED),
    (S.PUBLISHED, A.RETIRE): ({R.CENTER, R.OWNER_DIVISION}, S.RETIRED),
}
EVER = {action: set.union(*(who for (_, a), (who, _) in EXPECTED.items() if a is action)) for action in Action}


@pytest.mark.parametrize(
    ("status", "action", "relation", "pending"),
    list(itertools.product(VersionStatus, Action, Relation, [False, True])),
)
def test_every_status_action_and_person(
    status: VersionStatus, action: Action, relation: Relation, pending: bool
) -> None:
    expected = EXPECTED.get((status, action))
    blocked_by_pending = pending and action is A.NEW_VERSION
    if expected is not None and relation in expected[0] and not blocked_by_pending:
        assert apply(action, status, relation, has_pending=pending) is expected[1]
        assert action in allowed_actions(status, relation, has_pending=pending)
        return
    assert action not in allowed_actions(status, relation, has_pending=pending)
    if relation not in EVER[action] or (expected is not None and relation not in expected[0]):
        with pytest.raises(NotAllowed):
            apply(action, status, relation, has_pending=pending)
    else:
        with pytest.raises(IllegalTransition) as caught:
            apply(action, status, relation, has_pending=pending)
        # the 409 names the status and what this person may do instead
        assert caught.value.status is status
        assert caught.value.allowed == allowed_actions(status, relation, has_pending=pending)


def test_a_published_version_stays_published_while_a_new_one_is_drafted() -> None:
    assert apply(A.NEW_VERSION, S.PUBLISHED, R.OWNER_UNIT) is S.PUBLISHED
    with pytest.raises(IllegalTransition, match="already in the works"):
        apply(A.NEW_VERSION, S.PUBLISHED, R.OWNER_UNIT, has_pending=True)


def test_nothing_can_be_done_to_a_retired_or_superseded_version() -> None:
    for status, relation in itertools.product([S.RETIRED, S.SUPERSEDED], Relation):
        assert allowed_actions(status, relation) == frozenset()


def test_illegal_transition_lists_the_allowed_actions() -> None:
    with pytest.raises(IllegalTransition) as caught:
        apply(A.PUBLISH, S.SUBMITTED, R.CENTER)
    assert caught.value.allowed == frozenset()
    with pytest.raises(IllegalTransition) as caught:
        apply(A.SUBMIT, S.SUBMITTED, R.OWNER_DIVISION)
    assert caught.value.allowed == {A.APPROVE, A.SEND_BACK}


def test_role_names_match_the_auth_roles() -> None:
    assert knowledge.UNIT_HANDLER == Role.UNIT_HANDLER.value
    assert knowledge.DIVISION_SUPERVISOR == Role.DIVISION_SUPERVISOR.value
    assert knowledge.CENTER_SUPERVISOR == Role.CENTER_SUPERVISOR.value


def _relation(role: Role, branch: str = "demo", unit: str | None = None, division: str | None = None) -> Relation:
    return relation_of(
        role,
        principal_branch=branch,
        principal_unit=unit,
        principal_division=division,
        article_branch="demo",
        owner_unit="U-1",
        owner_division="D-1",
    )


def test_relations() -> None:
    assert _relation(Role.UNIT_HANDLER, unit="U-1", division="D-1") is R.OWNER_UNIT
    assert _relation(Role.UNIT_HANDLER, unit="U-2", division="D-1") is R.OTHER  # a sister unit edits nothing
    assert _relation(Role.DIVISION_SUPERVISOR, division="D-1") is R.OWNER_DIVISION
    assert _relation(Role.DIVISION_SUPERVISOR, division="D-2") is R.OTHER  # reviews only its own units
    assert _relation(Role.CENTER_SUPERVISOR) is R.CENTER
    assert _relation(Role.CENTER_SUPERVISOR, branch="other") is R.OTHER
    assert _relation(Role.UNIT_HANDLER, branch="other", unit="U-1") is R.OTHER
    for role in (Role.AGENT, Role.ADMIN, Role.AUDITOR, Role.INTEGRATION):
        assert _relation(role, unit="U-1", division="D-1") is R.OTHER


def test_a_division_owned_article_has_no_unit_writer() -> None:
    relation = relation_of(
        Role.UNIT_HANDLER,
        principal_branch="demo",
        principal_unit="U-1",
        principal_division="D-1",
        article_branch="demo",
        owner_unit=None,
        owner_division="D-1",
    )
    assert relation is R.OTHER


SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_stale_after_the_review_by_date_in_the_branch_zone() -> None:
    review_by = date(2026, 12, 1)
    # 2026-12-01 23:30 in Shanghai is still the review-by date: fresh
    assert not is_stale(review_by, datetime(2026, 12, 1, 15, 30, tzinfo=UTC), SHANGHAI)
    # 2026-12-02 00:30 in Shanghai (16:30 UTC on the 1st): stale, though UTC still says the 1st
    assert is_stale(review_by, datetime(2026, 12, 1, 16, 30, tzinfo=UTC), SHANGHAI)
    assert not is_stale(None, datetime(2030, 1, 1, tzinfo=UTC), SHANGHAI)


def test_freshness_halves_every_half_life() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert freshness(now, now) == 1.0
    assert freshness(now - timedelta(days=180), now) == pytest.approx(0.5)
    assert freshness(now - timedelta(days=360), now) == pytest.approx(0.25)
    assert freshness(now + timedelta(days=1), now) == 1.0  # a clock skew never boosts above 1
