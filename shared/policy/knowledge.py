"""The knowledge base's workflow: who may do what to an article version, and when (RULES.md §7, §9(六), §11(三)(八)).

Units (and divisions) collect and write knowledge (采编), their division reviews it (审核), the
center publishes it (发布); a published article is changed by a new version that goes the same
way while the published one stays live; an article may be retired with a reason. This module is
the whole rule as data (`TRANSITIONS`) and pure functions; the service only loads and stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from enum import StrEnum


class VersionStatus(StrEnum):
    """Where one version of an article stands."""

    DRAFT = "draft"  # being written by its unit (or division); also where a sent-back version returns
    SUBMITTED = "submitted"  # waiting for the division's review
    APPROVED = "approved"  # reviewed by the division, waiting for the center to publish
    PUBLISHED = "published"  # the live version agents find
    SUPERSEDED = "superseded"  # was live until a newer version was published
    RETIRED = "retired"  # the article was retired while this version was live or pending


class Action(StrEnum):
    """What a person may ask of a version."""

    EDIT = "edit"
    SUBMIT = "submit"
    APPROVE = "approve"
    SEND_BACK = "send_back"
    PUBLISH = "publish"
    NEW_VERSION = "new_version"
    RETIRE = "retire"


class Relation(StrEnum):
    """How the person stands to the article's owner (computed by `relation_of`)."""

    OWNER_UNIT = "owner_unit"  # a handler of the unit that owns the article
    OWNER_DIVISION = "owner_division"  # a supervisor of the owning unit's division
    CENTER = "center"  # a center supervisor of the article's branch
    OTHER = "other"  # anyone else (another unit or division, an agent, another branch)


@dataclass(frozen=True, slots=True)
class Transition:
    """An action admitted from a status, by people in one of `by`, leading to `to` (None: status unchanged)."""

    action: Action
    source: VersionStatus
    to: VersionStatus | None
    by: frozenset[Relation]


_WRITERS = frozenset({Relation.OWNER_UNIT, Relation.OWNER_DIVISION})
_DIVISION = frozenset({Relation.OWNER_DIVISION})
_CENTER = frozenset({Relation.CENTER})
# §11(三): the division reviews its units' knowledge; §9(六): the center publishes and may retire it.
S = VersionStatus
TRANSITIONS: tuple[Transition, ...] = (
    Transition(Action.EDIT, S.DRAFT, None, _WRITERS),
    Transition(Action.SUBMIT, S.DRAFT, S.SUBMITTED, _WRITERS),
    Transition(Action.APPROVE, S.SUBMITTED, S.APPROVED, _DIVISION),
    Transition(Action.SEND_BACK, S.SUBMITTED, S.DRAFT, _DIVISION),
    # the center may also send an approved version back to its writers rather than publish it
    Transition(Action.SEND_BACK, S.APPROVED, S.DRAFT, _CENTER),
    Transition(Action.PUBLISH, S.APPROVED, S.PUBLISHED, _CENTER),
    # a published version is changed by a new draft; the published one stays live meanwhile
    Transition(Action.NEW_VERSION, S.PUBLISHED, None, _WRITERS),
    Transition(Action.RETIRE, S.PUBLISHED, S.RETIRED, _CENTER | _DIVISION),
)
del S

# Actions whose person must write a reason or notes.
NEEDS_NOTE = frozenset({Action.SEND_BACK, Action.RETIRE})


class IllegalTransition(Exception):
    """The action is not allowed now: carries the status and the actions this person may take instead."""

    def __init__(self, action: Action, status: VersionStatus, allowed: frozenset[Action], reason: str) -> None:
        super().__init__(reason)
        self.action = action
        self.status = status
        self.allowed = allowed
        self.reason = reason


class NotAllowed(Exception):
    """The person may never take this action on this article (scope or role), whatever its status."""


# The values of shared.auth.roles.Role this rule names (the policy package imports no auth code;
# a unit test checks that they match).
UNIT_HANDLER = "unit_handler"
DIVISION_SUPERVISOR = "division_supervisor"
CENTER_SUPERVISOR = "center_supervisor"


def relation_of(
    role: str,
    *,
    principal_branch: str,
    principal_unit: str | None,
    principal_division: str | None,
    article_branch: str,
    owner_unit: str | None,
    owner_division: str | None,
) -> Relation:
    """How a person stands to an article: its unit, its division, the center, or nobody in particular."""
    if principal_branch != article_branch:
        return Relation.OTHER
    if role == UNIT_HANDLER and owner_unit is not None and principal_unit == owner_unit:
        return Relation.OWNER_UNIT
    if role == DIVISION_SUPERVISOR and owner_division is not None and principal_division == owner_division:
        return Relation.OWNER_DIVISION
    if role == CENTER_SUPERVISOR:
        return Relation.CENTER
    return Relation.OTHER


def _find(action: Action, status: VersionStatus) -> Transition | None:
    for transition in TRANSITIONS:
        if transition.action is action and transition.source is status:
            return transition
    return None


def allowed_actions(status: VersionStatus, relation: Relation, *, has_pending: bool = False) -> frozenset[Action]:
    """Every action this person may take on a version in `status`.

    `has_pending`: the article already has a version in the works (draft, submitted or approved),
    so no second new version may be started from the published one.
    """
    allowed = {t.action for t in TRANSITIONS if t.source is status and relation in t.by}
    if has_pending:
        allowed.discard(Action.NEW_VERSION)
    return frozenset(allowed)


def apply(action: Action, status: VersionStatus, relation: Relation, *, has_pending: bool = False) -> VersionStatus:
    """The status after `action`, or IllegalTransition (wrong status now) / NotAllowed (never for this person)."""
    if not any(action is t.action and relation in t.by for t in TRANSITIONS):
        raise NotAllowed(f"{relation.value} may not {action.value} this article")
    allowed = allowed_actions(status, relation, has_pending=has_pending)
    transition = _find(action, status)
    if transition is None or action not in allowed:
        if transition is not None and relation in transition.by and has_pending and action is Action.NEW_VERSION:
            reason = "a newer version is already in the works"
        elif transition is not None and relation not in transition.by:
            raise NotAllowed(f"{relation.value} may not {action.value} a {status.value} version")
        else:
            reason = f"cannot {action.value} a {status.value} version"
        raise IllegalTransition(action, status, allowed, reason)
    return status if transition.to is None else transition.to


# --------------------------------------------------------------------------- review-by dates


def is_stale(review_by: date | None, now: datetime, zone: tzinfo) -> bool:
    """Past its review-by date in the branch's zone (the date itself still counts as fresh)."""
    if review_by is None:
        return False
    return now.astimezone(zone).date() > review_by


def freshness(updated_at: datetime, now: datetime, *, half_life_days: float = 180.0) -> float:
    """A ranking weight in (0, 1]: 1 for an article published now, halving every `half_life_days`."""
    age_days = max((now - updated_at).total_seconds() / 86400.0, 0.0)
    return float(0.5 ** (age_days / half_life_days))
