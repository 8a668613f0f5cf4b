"""Route × role × branch × unit matrix over every route of an app built with create_app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from shared.auth import ALL_ROLES, Role, iter_http_routes
from tests.unit.auth.demo import BRANCH, OTHER_BRANCH, bearer, token

pytestmark = pytest.mark.unit

# "near" is the principal's closest relation to ticket T1 (branch nn, unit u1, division d1,
# owner agent-1): the owning agent, the unit it is dispatched to, that unit's division.
NEAR = {
    Role.AGENT: {"subject": "agent-1"},
    Role.UNIT_HANDLER: {"unit": "u1"},
    Role.DIVISION_SUPERVISOR: {"division": "d1"},
}
FAR = {
    Role.AGENT: {"subject": "agent-9"},
    Role.UNIT_HANDLER: {"unit": "u2"},
    Role.DIVISION_SUPERVISOR: {"division": "d2"},
}


def _narrowed(role: Role) -> bool:
    return role in (Role.UNIT_HANDLER, Role.DIVISION_SUPERVISOR)


def ticket_scope(role: Role, same_branch: bool, near: bool) -> int:
    """A ticket read: out of branch, unit or division scope is 404 (existence must not leak)."""
    if not same_branch or (_narrowed(role) and not near):
        return 404
    return 200


def reveal_scope(role: Role, same_branch: bool, near: bool) -> int:
    """Reveal: out of scope 404; in scope without need to know (another agent's call) 403."""
    status = ticket_scope(role, same_branch, near)
    if status == 200 and not near:
        return 403
    return status


def branch_scope(role: Role, same_branch: bool, near: bool) -> int:
    """An address naming another branch is refused outright: 403."""
    return 200 if same_branch else 403


def same_branch_customer(role: Role, same_branch: bool, near: bool) -> int:
    return 200 if same_branch else 404


def anywhere(status: int) -> Callable[[Role, bool, bool], int]:
    return lambda role, same_branch, near: status


ALWAYS_OK = anywhere(200)


@dataclass(frozen=True)
class Case:
    """How to call one route and what the test expects of it."""

    url: str
    roles: frozenset[Role] | None  # None: public
    in_scope: Callable[[Role, bool, bool], int] = ALWAYS_OK
    json: dict[str, Any] | None = None


READERS = frozenset({Role.AGENT, Role.UNIT_HANDLER, Role.DIVISION_SUPERVISOR, Role.CENTER_SUPERVISOR})
CASES: dict[tuple[str, str], Case] = {
    ("GET", "/health/live"): Case("/health/live", None),
    ("GET", "/health/ready"): Case("/health/ready", None),
    ("GET", "/metrics"): Case("/metrics", None),
    # the interactive docs and their assets (shared.http.docs) are public, like /openapi.json
    ("GET", "/docs"): Case("/docs", None),
    ("GET", "/docs/assets/init.js"): Case("/docs/assets/init.js", None),
    ("GET", "/docs/assets/{name}"): Case("/docs/assets/swagger-ui.css", None),
    ("GET", "/api/v1/tickets/{ticket_id}"): Case("/api/v1/tickets/T1", READERS, ticket_scope),
    ("GET", "/api/v1/tickets"): Case("/api/v1/tickets", READERS),
    ("POST", "/api/v1/tickets/{ticket_id}/reveal"): Case(
        "/api/v1/tickets/T1/reveal",
        frozenset({Role.AGENT, Role.UNIT_HANDLER}),
        reveal_scope,
        json={"field": "phone", "reason": "calling the customer back about the leak"},
    ),
    ("POST", "/api/v1/customers/{customer_id}/verify"): Case(
        "/api/v1/customers/C1/verify",
        frozenset({Role.AGENT}),
        same_branch_customer,
        json={
            "name": "张小明",
            "id_number": "45010219900101123X",
            "address": "南宁市青秀区民族大道100号",
            "phone": "13812345678",
        },
    ),
    ("GET", "/api/v1/branches/{branch}/stats"): Case(
        f"/api/v1/branches/{BRANCH}/stats",
        frozenset({Role.DIVISION_SUPERVISOR, Role.CENTER_SUPERVISOR, Role.ADMIN}),
        branch_scope,
    ),
    ("GET", "/api/v1/audit"): Case(f"/api/v1/audit?branch={BRANCH}", frozenset({Role.AUDITOR}), branch_scope),
    ("POST", "/api/v1/calls"): Case(
        "/api/v1/calls",
        frozenset({Role.INTEGRATION}),
        anywhere(201),
        json={"call_id": "call-1", "caller_number": "13812345678"},
    ),
}


def _token(role: Role, same_branch: bool, near: bool) -> str:
    claims = dict((NEAR if near else FAR).get(role, {}))
    if role is Role.UNIT_HANDLER:
        claims.setdefault("unit", "u1")
    if role is Role.DIVISION_SUPERVISOR:
        claims.setdefault("division", "d1")
    return token(role, BRANCH if same_branch else OTHER_BRANCH, **claims)


def test_every_route_has_a_matrix_case_and_its_declared_roles(app: Any) -> None:
    routes = list(iter_http_routes(app))
    assert routes
    for route in routes:
        for method in route.methods:
            case = CASES.get((method, route.path))
            assert case is not None, f"{method} {route.path} has no case in the role matrix"
            assert route.access is not None
            if case.roles is None:
                assert route.access.public, f"{method} {route.path} should be public"
            else:
                assert not route.access.public
                assert route.access.roles == case.roles, f"{method} {route.path} roles"


async def test_route_role_branch_unit_matrix(app: Any, client: httpx.AsyncClient) -> None:
    wrong: list[str] = []
    calls = 0
    for route in iter_http_routes(app):
        for method in sorted(route.methods):
            case = CASES[(method, route.path)]
            # no credentials at all
            response = await client.request(method, case.url, json=case.json)
            expected = 200 if case.roles is None else 401
            calls += 1
            if response.status_code != expected:
                wrong.append(f"{method} {route.path} anonymous: {response.status_code} != {expected}")
            for role in sorted(ALL_ROLES):
                for same_branch in (True, False):
                    for near in (True, False):
                        if case.roles is None:
                            expected = 200
                        elif role not in case.roles:
                            expected = 403
                        else:
                            expected = case.in_scope(role, same_branch, near)
                        response = await client.request(
                            method,
                            case.url,
                            json=case.json,
                            headers=bearer(_token(role, same_branch, near)),
                        )
                        calls += 1
                        if response.status_code != expected:
                            wrong.append(
                                f"{method} {route.path} {role.value} "
                                f"{'same' if same_branch else 'other'}-branch "
                                f"{'near' if near else 'far'}: "
                                f"{response.status_code} != {expected} {response.text[:120]}"
                            )
                        elif expected >= 400:
                            assert set(response.json()) == {"error"}
    assert not wrong, "\n".join(wrong)
    assert calls == len(CASES) * (1 + len(ALL_ROLES) * 4)


async def test_scope_filters_lists(client: httpx.AsyncClient) -> None:
    async def ids(**claims: Any) -> list[str]:
        response = await client.get("/api/v1/tickets", headers=bearer(token(**claims)))
        assert response.status_code == 200
        return [t["id"] for t in response.json()]

    assert await ids(role=Role.AGENT) == ["T1", "T2"]
    assert await ids(role=Role.UNIT_HANDLER, unit="u1") == ["T1"]
    assert await ids(role=Role.DIVISION_SUPERVISOR, division="d2") == ["T2"]
    assert await ids(role=Role.CENTER_SUPERVISOR, branch=OTHER_BRANCH) == ["T3"]
