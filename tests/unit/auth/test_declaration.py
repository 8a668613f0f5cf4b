"""A route without a role declaration cannot be registered, however it is added."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import APIRouter, Depends

from shared.auth import Principal, Role, SecureRouter, UndeclaredRolesError, public, require_roles
from shared.auth.deps import route_access
from shared.http.app import create_app
from shared.http.settings import HttpSettings
from tests.unit.auth.demo import auth_settings

pytestmark = pytest.mark.unit


def test_secure_router_refuses_an_undeclared_route() -> None:
    router = SecureRouter()
    with pytest.raises(UndeclaredRolesError, match="GET /tickets declares no roles"):

        @router.get("/tickets")
        async def tickets() -> list[str]:
            return []


def test_create_app_refuses_a_plain_router_with_an_undeclared_route() -> None:
    router = APIRouter()

    @router.get("/api/v1/forgotten")
    async def forgotten() -> dict[str, str]:
        return {}

    with pytest.raises(UndeclaredRolesError, match="/api/v1/forgotten"):
        create_app("demo", HttpSettings(), router, auth=auth_settings())


def test_a_route_added_on_the_app_itself_is_refused() -> None:
    app = create_app("demo", HttpSettings(), auth=auth_settings())
    with pytest.raises(UndeclaredRolesError):

        @app.get("/late")
        async def late() -> dict[str, str]:
            return {}


def test_an_unrelated_dependency_is_no_declaration() -> None:
    def pagination() -> int:
        return 1

    router = SecureRouter()
    with pytest.raises(UndeclaredRolesError):

        @router.get("/x")
        async def x(page: Annotated[int, Depends(pagination)]) -> int:
            return page


def test_declarations_are_found_on_routers_and_routes_and_intersect() -> None:
    router = SecureRouter(dependencies=[require_roles(Role.AGENT, Role.AUDITOR)])

    @router.get("/x")
    async def x(p: Annotated[Principal, require_roles(Role.AGENT, Role.ADMIN)]) -> str:
        return p.subject

    @router.get("/open", dependencies=[public()])
    async def open_() -> str:
        return "ok"

    routes = {r.path: r for r in router.routes}  # type: ignore[attr-defined]
    access = route_access(routes["/x"].dependant)
    assert access is not None and access.roles == frozenset({Role.AGENT})


def test_require_roles_needs_a_role() -> None:
    with pytest.raises(ValueError, match="at least one role"):
        require_roles()
