"""The workflow rule's refusals as the shared kinds, so `shared.http.errors` gives their statuses once.

`shared.policy.knowledge` stays free of any service code and raises its own two refusals; `decide` turns
them into `StepRefused` (409 with the status and the actions allowed instead) and `OutOfScope` (403).
The handlers raise the other refusals (`NotFound`, `Invalid`, `OutOfScope`) from `shared.errors` directly.
"""

from __future__ import annotations

from shared import errors
from shared.policy.knowledge import Action, IllegalTransition, NotAllowed, Relation, VersionStatus, apply


class StepRefused(errors.Conflict):
    """Not allowed in the version's status now (409): names the status and the actions allowed instead."""

    code = "illegal_transition"

    def __init__(self, refusal: IllegalTransition) -> None:
        allowed = ", ".join(sorted(a.value for a in refusal.allowed)) or "none"
        super().__init__(
            f"{refusal.reason} (status {refusal.status.value}; allowed: {allowed})",
            fields=[
                {"field": "status", "message": refusal.status.value},
                {"field": "allowed_actions", "message": allowed},
            ],
        )
        self.status = refusal.status
        self.allowed = refusal.allowed


def decide(action: Action, status: VersionStatus, relation: Relation, *, has_pending: bool = False) -> VersionStatus:
    """`shared.policy.knowledge.apply`, its refusals raised as the domain errors above."""
    try:
        return apply(action, status, relation, has_pending=has_pending)
    except NotAllowed as refusal:
        raise errors.OutOfScope(str(refusal)) from None
    except IllegalTransition as refusal:
        raise StepRefused(refusal) from None
