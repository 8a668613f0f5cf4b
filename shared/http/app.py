"""`create_app`: the one way a service builds its FastAPI app, with auth and hygiene wired in."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy.exc
import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response

from shared.auth.deps import SecuredRoute, SecureRouter, check_routes_declared, public
from shared.auth.settings import AuthSettings
from shared.db import is_transient
from shared.errors import DomainError
from shared.http.docs import docs_router
from shared.http.errors import (
    domain_error_handler,
    error_response,
    http_exception_handler,
    validation_exception_handler,
)
from shared.http.guard import JsonGuardMiddleware, JsonLimits, refuse_control_characters
from shared.http.middleware import (
    BodyLimitMiddleware,
    RequestLogMiddleware,
    RequestMetrics,
    SecurityHeadersMiddleware,
)
from shared.http.openapi import document_errors
from shared.http.ratelimit import RateLimiter, RateLimitSettings
from shared.http.responses import MaskedJSONResponse
from shared.http.settings import HttpSettings

log = structlog.get_logger("shared.http")

ReadinessCheck = Callable[[], Awaitable[bool]]
# brings a process gauge up to date just before a scrape (the outbox's pending count, a consumer's lag)
MetricsRefresh = Callable[[], Awaitable[object]]


def _unavailable(request: Request, exc: Exception) -> Response:
    # the database restarting or failing over: nothing was written, the same request will succeed shortly
    log.warning("database_unavailable", path=request.url.path, error=type(exc).__name__)
    message = "the database is unavailable for a moment; try again"
    return error_response(503, message, code="unavailable", headers={"Retry-After": "2"})


async def _database_error(request: Request, exc: Exception) -> Response:
    # handled inside the middlewares (not by the last-resort handler, which re-raises): the request log says 503
    if is_transient(exc):
        return _unavailable(request, exc)
    raise exc


async def _internal_error(request: Request, exc: Exception) -> Response:
    if is_transient(exc):
        return _unavailable(request, exc)
    # the traceback goes to the (masked) log, never into the response body
    log.error("unhandled error", path=request.url.path, exc_info=exc)
    return error_response(500, "internal server error")


def _health_router(
    service_name: str,
    role: str,
    checks: Mapping[str, ReadinessCheck],
    metrics: RequestMetrics,
    refresh: Sequence[MetricsRefresh],
) -> SecureRouter:
    router = SecureRouter(tags=["health"], dependencies=[public()])

    @router.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok", "service": service_name, "role": role}

    @router.get("/health/ready")
    async def ready() -> JSONResponse:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                results[name] = "ok" if await check() else "failing"
            except Exception:
                log.warning("readiness check raised", check=name, exc_info=True)
                results[name] = "failing"
        ok = all(r == "ok" for r in results.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "service": service_name, "role": role, "checks": results},
            status_code=200 if ok else 503,
        )

    @router.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        for update in refresh:
            try:
                await update()
            except Exception:  # a gauge left as it was is better than no metrics at all
                log.warning("metrics refresh failed", exc_info=True)
        # the process's own counters and gauges (consumers, outbox, dead letters, SLA timers...), then
        # this app's request metrics, kept in a registry of its own so two apps never collide
        body = generate_latest(REGISTRY) + generate_latest(metrics.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return router


def create_app(
    service_name: str,
    settings: HttpSettings,
    *routers: APIRouter,
    auth: AuthSettings,
    readiness: Mapping[str, ReadinessCheck] | None = None,
    version: str = "1",
    state: Mapping[str, Any] | None = None,
    branch_known: Callable[[str], bool] | None = None,
    role: str = "api",
    metrics_refresh: Sequence[MetricsRefresh] = (),
    rate_limits: RateLimitSettings | None = None,
    larger_bodies: Mapping[str, int] | None = None,
) -> FastAPI:
    """A service's app: every route must declare its roles or startup fails.

    `auth` holds the token keys and API key hashes; `readiness` maps a name to an async
    check (database, broker) for `/health/ready`; `state` lands on `app.state` for the
    service's own dependencies (its session factory, clock). `branch_known` says whether a
    credential's branch is configured (shared.branch_config.is_configured_branch); every
    authenticated route then answers 404 `unknown_branch` for one that is not. `role` (api,
    worker, all) is named by the health answers; `metrics_refresh` runs before each `/metrics` scrape.
    `larger_bodies` maps the few paths whose bodies may exceed `settings.max_body_bytes` to their own limit.
    """
    metrics = RequestMetrics(service_name)
    app = FastAPI(
        title=f"hotline {service_name}",
        version=version,
        openapi_url="/openapi.json" if settings.openapi else None,
        docs_url=None,
        redoc_url=None,
        default_response_class=MaskedJSONResponse,
        # every path segment and query value of every route, checked once here (issue 14 #3)
        dependencies=[Depends(refuse_control_characters)],
    )
    # routes added straight onto the app must declare roles too
    app.router.route_class = SecuredRoute
    app.state.auth_settings = auth
    app.state.service_name = service_name
    app.state.metrics = metrics
    app.state.branch_known = branch_known
    app.state.rate_limiter = RateLimiter(rate_limits or RateLimitSettings())
    app.state.max_error_fields = settings.max_error_fields
    for key, value in (state or {}).items():
        setattr(app.state, key, value)

    app.add_exception_handler(StarletteHTTPException, http_exception_handler)
    app.add_exception_handler(RequestValidationError, validation_exception_handler)
    app.add_exception_handler(DomainError, domain_error_handler)
    for kind in (sqlalchemy.exc.DBAPIError, ConnectionError):
        app.add_exception_handler(kind, _database_error)
    app.add_exception_handler(Exception, _internal_error)

    app.include_router(_health_router(service_name, role, readiness or {}, metrics, metrics_refresh))
    if settings.openapi:
        app.include_router(docs_router(service_name))
    for router in routers:
        app.include_router(router)
    check_routes_declared(app)
    document_errors(app)

    # add_middleware wraps: the last added runs first. Order, outermost first: request log
    # (sees every status), security headers (on errors too), CORS, body limits, JSON guard.
    limits = JsonLimits(settings.max_json_keys, settings.max_json_depth, settings.max_error_fields)
    app.add_middleware(JsonGuardMiddleware, limits=limits)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes, larger=larger_bodies)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
            allow_credentials=False,
        )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestLogMiddleware, metrics=metrics)

    original_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[Any]:
        # routes added after create_app (and before serving) are checked once more here
        check_routes_declared(app_)
        async with original_lifespan(app_) as maybe_state:
            yield maybe_state

    app.router.lifespan_context = lifespan
    return app


def create_worker_app(
    service_name: str,
    *,
    readiness: Mapping[str, ReadinessCheck],
    metrics_refresh: Sequence[MetricsRefresh] = (),
    auth: AuthSettings | None = None,
) -> FastAPI:
    """A worker process's own small server: `/health/live`, `/health/ready` and `/metrics`, no API routes.

    It checks no token, so a worker without `HOTLINE_JWT_SECRET` gets a throwaway key.
    """
    if auth is None:
        try:
            auth = AuthSettings()
        except ValueError:
            auth = AuthSettings(jwt_secret=secrets.token_urlsafe(48))  # type: ignore[arg-type]
    return create_app(
        f"{service_name}-worker",
        HttpSettings(),
        auth=auth,
        readiness=readiness,
        role="worker",
        metrics_refresh=metrics_refresh,
    )
