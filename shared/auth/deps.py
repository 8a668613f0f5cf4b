"""FastAPI dependencies that authenticate, declare the roles a route accepts, and enforce it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.routing import BaseRoute

from shared.auth.principal import Principal
from shared.auth.roles import Role
from shared.auth.settings import AuthSettings
from shared.auth.tokens import AuthenticationError, decode_token, principal_for_api_key
from shared.http.errors import ApiError
from shared.http.ratelimit import check_rate, client_key, limiter_of, too_many

_ROLES_ATTR = "__hotline_roles__"
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_PUBLIC_ATTR = "__hotline_public__"

_bearer = HTTPBearer(auto_error=False, description="JWT from `hotline auth issue-token`")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="machine clients (role integration)")


def _settings(request: Request) -> AuthSettings:
    settings = getattr(request.app.state, "auth_settings", None)
    if not isinstance(settings, AuthSettings):
        # an app not built by create_app: fail closed, never as anonymous
        raise RuntimeError("app.state.auth_settings is not set; build the app with create_app")
    return settings


async def current_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    api_key: Annotated[str | None, Security(_api_key)],
) -> Principal:
    """The verified caller; 401 when credentials are missing or invalid."""
    settings = _settings(request)
    limiter = limiter_of(request)
    # a client address that keeps presenting bad credentials is slowed down (issue 14 #10)
    wait = limiter.blocked("sign_in", client_key(request)) if limiter is not None else None
    if wait is not None:
        raise too_many("sign_in", wait)
    try:
        if api_key:
            principal = principal_for_api_key(settings, api_key)
        elif bearer is not None and bearer.credentials:
            principal = decode_token(settings, bearer.credentials)
        elif request.headers.get("authorization"):
            raise AuthenticationError("Authorization header must be 'Bearer <token>'")
        else:
            raise AuthenticationError("missing bearer token")
    except AuthenticationError:
        # only a credential that was presented and failed counts: a missing one guesses nothing
        if limiter is not None and (api_key or request.headers.get("authorization")):
            limiter.hit("sign_in", client_key(request))
        raise
    known = getattr(request.app.state, "branch_known", None)
    if known is not None and not known(principal.branch):
        # one answer for a credential of a branch that is not configured, on every route (issue 14 #6)
        raise ApiError(404, f"branch {principal.branch!r} is not configured", code="unknown_branch")
    if request.method in _WRITE_METHODS:
        check_rate(request, "write", principal.branch)
    request.state.principal = principal
    # every later log line of this request names who made it (never personal data)
    structlog.contextvars.bind_contextvars(subject=principal.subject, principal_role=principal.role.value)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Any:
    """`Depends` that admits only these roles (403 otherwise) and yields the Principal.

    Use as `principal: Annotated[Principal, require_roles(Role.AGENT)]` or in a route's or
    router's `dependencies=[...]`. It is also the declaration that `SecuredRoute` and
    `create_app` look for.
    """
    if not roles:
        raise ValueError("require_roles needs at least one role; use public() for open routes")
    allowed = frozenset(Role(r) for r in roles)

    async def check_role(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise ApiError(403, f"role {principal.role.value} may not call this route", code="forbidden")
        return principal

    setattr(check_role, _ROLES_ATTR, allowed)
    check_role.__name__ = "require_" + "_or_".join(sorted(r.value for r in allowed))
    return Depends(check_role)


def _public_marker() -> None:
    """No credentials needed: liveness, readiness and metrics only."""


setattr(_public_marker, _PUBLIC_ATTR, True)


def public() -> Any:
    """The explicit declaration that a route needs no credentials."""
    return Depends(_public_marker)


@dataclass(frozen=True)
class Access:
    """What a route declared: public, or the roles it admits."""

    public: bool
    roles: frozenset[Role]


def _declarations(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dep in dependant.dependencies:
        if dep.call is not None and (hasattr(dep.call, _ROLES_ATTR) or hasattr(dep.call, _PUBLIC_ATTR)):
            yield dep.call
        yield from _declarations(dep)


def route_access(dependant: Dependant) -> Access | None:
    """The access a route declared, or None when it declared nothing.

    Several role declarations (router-level and route-level) must all pass, so the
    admitted roles are their intersection.
    """
    calls = list(_declarations(dependant))
    if not calls:
        return None
    role_sets = [getattr(c, _ROLES_ATTR) for c in calls if hasattr(c, _ROLES_ATTR)]
    if not role_sets:
        return Access(public=True, roles=frozenset())
    return Access(public=False, roles=frozenset.intersection(*role_sets))


class UndeclaredRolesError(RuntimeError):
    """A route was registered without `require_roles(...)` or `public()`."""


def _undeclared(methods: set[str] | None, path: str) -> UndeclaredRolesError:
    verbs = ",".join(sorted(methods or ()))
    return UndeclaredRolesError(f"route {verbs} {path} declares no roles: add require_roles(...) or public()")


class SecuredRoute(APIRoute):
    """An APIRoute that refuses to exist without a role declaration."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if route_access(self.dependant) is None:
            raise _undeclared(self.methods, self.path)


class SecureRouter(APIRouter):
    """An APIRouter whose routes must each declare their roles (SecuredRoute)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("route_class", SecuredRoute)
        super().__init__(**kwargs)


@dataclass(frozen=True)
class HttpRoute:
    """One method-path pair of an app, flattened out of included routers."""

    path: str
    methods: frozenset[str]
    access: Access | None
    name: str


def _route_contexts(routes: list[BaseRoute]) -> Iterator[Any]:
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI >= 0.16x: lazy inclusion
    except ImportError:  # older FastAPI copies included routes into app.routes
        yield from routes
        return
    yield from iter_route_contexts(routes)


def iter_http_routes(app: FastAPI) -> Iterator[HttpRoute]:
    """Every HTTP route of an app with its declared access (None: undeclared).

    FastAPI's own documentation routes (openapi.json, docs) are not API routes and are
    left out; they carry no data.
    """
    own = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    for context in _route_contexts(list(app.routes)):
        path = getattr(context, "path", None)
        methods = getattr(context, "methods", None)
        if path is None or methods is None or path in own:
            continue
        dependant = getattr(context, "dependant", None)
        access = route_access(dependant) if isinstance(dependant, Dependant) else None
        yield HttpRoute(
            path=path,
            methods=frozenset(methods) - {"HEAD"} or frozenset(methods),
            access=access,
            name=str(getattr(context, "name", "")),
        )


def check_routes_declared(app: FastAPI) -> None:
    """Raise UndeclaredRolesError for the first route of the app without a declaration."""
    for route in iter_http_routes(app):
        if route.access is None:
            raise _undeclared(set(route.methods), route.path)
