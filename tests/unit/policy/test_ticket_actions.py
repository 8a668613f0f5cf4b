"""The intake actions a ticket page offers: by role, status and category (shared/policy/ticket_actions.py)."""

from __future__ import annotations

import itertools

import pytest
from fastapi import FastAPI

from shared.auth.roles import Role
from shared.policy.categories import Category
from shared.policy.ticket_actions import ACTION_ROLES, IntakeAction, intake_actions
from shared.policy.work_order import CLOSABLE_ON_CALL

STATUSES = ("received", "dispatched", "accepted", "replied", "closed", "resolved_on_call", "dispatch_queued")


@pytest.mark.parametrize("role", list(Role))
def test_each_action_is_offered_exactly_when_the_rules_allow_it(role: Role) -> None:
    for category, status, has_customer in itertools.product(Category, STATUSES, (True, False)):
        allowed = intake_actions(role, status, category.value, has_customer=has_customer)
        assert (IntakeAction.REVEAL in allowed) == (role in (Role.AGENT, Role.UNIT_HANDLER))
        # RULES.md §1: query, consultation, simple repair and praise, while the ticket has gone nowhere yet
        closable = category in CLOSABLE_ON_CALL and status == "received"
        resolvable = role in (Role.AGENT, Role.CENTER_SUPERVISOR) and closable
        assert (IntakeAction.RESOLVE_ON_CALL in allowed) == resolvable, (category, status)
        assert (IntakeAction.ACCOUNT_QUERY in allowed) == (role is Role.AGENT and has_customer)
        assert list(allowed) == [a for a in IntakeAction if a in allowed]  # stable order


def test_an_unknown_category_is_never_closed_on_the_call() -> None:
    assert IntakeAction.RESOLVE_ON_CALL not in intake_actions(Role.AGENT, "received", "gossip", has_customer=False)


def test_intakes_routes_admit_exactly_the_roles_the_policy_offers() -> None:
    from services.intake.api import customers, tickets
    from shared.auth.deps import iter_http_routes

    app = FastAPI()
    app.include_router(tickets)
    app.include_router(customers)
    posts = {r.path: r.access for r in iter_http_routes(app) if "POST" in r.methods}
    routes = {
        IntakeAction.REVEAL: "/api/v1/tickets/{ticket_id}/reveal",
        IntakeAction.RESOLVE_ON_CALL: "/api/v1/tickets/{ticket_id}/first-contact-resolution",
        IntakeAction.ACCOUNT_QUERY: "/api/v1/customers/{customer_id}/account-query",
    }
    assert set(routes) == set(ACTION_ROLES)
    for action, path in routes.items():
        access = posts[path]
        assert access is not None and access.roles == ACTION_ROLES[action], action
