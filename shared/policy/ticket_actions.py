"""What a person may do with a ticket through the intake service, by role, status and category (RULES.md §1, §6).

The intake API's routes declare the same roles (a test holds them together); `GET /tickets/{id}` lists the
caller's own actions as `allowed_actions`, so a page offers only the buttons that can work.
"""

from __future__ import annotations

from enum import StrEnum

from shared.auth.roles import Role
from shared.policy.categories import Category
from shared.policy.work_order import CLOSABLE_ON_CALL


class IntakeAction(StrEnum):
    REVEAL = "reveal"  # RULES.md §6: a personal field in clear, with a reason, audited
    RESOLVE_ON_CALL = "resolve_on_call"  # RULES.md §1: answered and closed on the call
    ACCOUNT_QUERY = "account_query"  # RULES.md §1 query, §6: the account after the identity check


ACTION_ROLES: dict[IntakeAction, frozenset[Role]] = {
    IntakeAction.REVEAL: frozenset({Role.AGENT, Role.UNIT_HANDLER}),
    IntakeAction.RESOLVE_ON_CALL: frozenset({Role.AGENT, Role.CENTER_SUPERVISOR}),
    IntakeAction.ACCOUNT_QUERY: frozenset({Role.AGENT}),
}
# a first-contact close is possible before the ticket went anywhere (intake answers 409 after that)
RESOLVABLE_STATUSES = frozenset({"received"})


def intake_actions(role: Role, status: str, category: str, *, has_customer: bool) -> tuple[IntakeAction, ...]:
    """The intake actions `role` may take on a ticket in `status` of `category`, in a stable order."""
    allowed: list[IntakeAction] = []
    for action in IntakeAction:
        if role not in ACTION_ROLES[action]:
            continue
        if action is IntakeAction.RESOLVE_ON_CALL:
            try:
                closable = Category(category) in CLOSABLE_ON_CALL
            except ValueError:
                closable = False
            if not closable or status not in RESOLVABLE_STATUSES:
                continue
        if action is IntakeAction.ACCOUNT_QUERY and not has_customer:
            continue
        allowed.append(action)
    return tuple(allowed)
