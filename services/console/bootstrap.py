"""Wires the console: settings, session database, API clients, catalogs, templates, the hub, its consumer, the app."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.console import templating
from services.console.api import routers
from services.console.api.deps import CsrfRejected, SignInRequired, language_for
from services.console.clients import Apis
from services.console.i18n import load_catalogs
from services.console.live import Hub
from services.console.pop_cache import PopPrefetch
from services.console.settings import ConsoleSettings
from services.console.worker import ConsoleMetrics, LiveConsumer
from shared.branch_config import BranchPolicies
from shared.clock import Clock
from shared.db import make_engine, make_sessions
from shared.http.middleware import SECURITY_HEADERS, RequestLogMiddleware, RequestMetrics, SecurityHeadersMiddleware
from shared.policy.calendar import WorkingDayCalendar
from shared.runtime import ServiceSettings

log = structlog.get_logger(__name__)

SERVICE = "console"
HERE = Path(__file__).parent
MIGRATIONS = HERE / "migrations"
# pages load only the console's own scripts, styles and stream (nothing from a CDN, no inline script)
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "media-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = (
    *((name, value) for name, value in SECURITY_HEADERS if name != "Content-Security-Policy"),
    ("Content-Security-Policy", PAGE_CSP),
)
VENDOR_FILES = {"htmx.min.js": ("htmx.org", "dist", "htmx.min.js")}
VENDOR_FILES["echarts.min.js"] = ("echarts", "dist", "echarts.min.js")  # issue 18: the wallboard's charts


@dataclass
class Console:
    """Everything one console process shares (app.state.console)."""

    settings: ConsoleSettings
    service: ServiceSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    apis: Apis
    catalogs: dict[str, Any]
    templates: Environment
    zone: ZoneInfo
    calendar: WorkingDayCalendar
    hub: Hub
    metrics: ConsoleMetrics
    request_metrics: RequestMetrics
    pops: PopPrefetch
    consumer: LiveConsumer | None = None
    policies: BranchPolicies = field(default_factory=BranchPolicies)  # issue 18: the survey questions
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def database_ready(self) -> bool:
        async with self.sessions() as db:
            await db.execute(text("SELECT 1"))
        return True

    async def close(self) -> None:
        self.stopping.set()
        await self.apis.close()
        await self.engine.dispose()


def _zone(branch: str) -> ZoneInfo:
    try:
        zone = BranchPolicies().branch(branch).timezone
        return zone if isinstance(zone, ZoneInfo) else ZoneInfo(str(zone))
    except Exception:
        return ZoneInfo("Asia/Shanghai")


def _calendar(branch: str) -> WorkingDayCalendar:
    """The national schedule with the branch's own days off and on (RULES.md §3)."""
    policies = BranchPolicies()
    try:
        overrides = policies.branch(branch).calendar_overrides.values()
    except Exception:
        return policies.calendar
    return policies.calendar.with_overrides(overrides)


def instance_group(settings: ConsoleSettings) -> str:
    """A consumer group of this instance alone (each instance pushes to its own browsers)."""
    instance = settings.instance_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    return f"console-{instance}"


def build_console(
    service: ServiceSettings | None = None, settings: ConsoleSettings | None = None, *, database_url: str | None = None
) -> Console:
    service = service or ServiceSettings()
    settings = settings or ConsoleSettings()
    engine = make_engine(database_url or service.database_url_for(SERVICE))
    zone = _zone(service.branch if service.branch != "default" else "demo")
    templates = Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]), enable_async=False
    )
    templating.install(templates)
    request_metrics = RequestMetrics(SERVICE)
    metrics = ConsoleMetrics(request_metrics.registry)
    catalogs = load_catalogs()
    console: Console
    hub = Hub(lambda kind, event, listener: templating.push_data(console, kind, event, listener))
    apis = Apis(settings)
    pops = PopPrefetch(apis)
    hub.on_call = pops.start
    console = Console(
        settings=settings,
        service=service,
        engine=engine,
        sessions=make_sessions(engine),
        clock=service.clock(),
        apis=apis,
        catalogs=catalogs,
        templates=templates,
        zone=zone,
        calendar=_calendar(service.branch if service.branch != "default" else "demo"),
        hub=hub,
        metrics=metrics,
        request_metrics=request_metrics,
        pops=pops,
    )
    return console


def build_consumer(console: Console) -> LiveConsumer:
    s = console.settings
    consumer = LiveConsumer(
        console.service.kafka_bootstrap,
        [s.topic_tickets, s.topic_sla, s.topic_notifications, s.topic_cti_calls],
        instance_group(s),
        console.hub,
        console.metrics,
    )
    console.consumer = consumer
    return consumer


def build_app(console: Console) -> FastAPI:
    app = FastAPI(title="hotline console", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.console = console
    for router in routers:
        app.include_router(router)

    @app.exception_handler(SignInRequired)
    async def to_sign_in(request: Request, exc: SignInRequired) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/"})
        if request.url.path == "/events":
            return Response(status_code=401)
        return RedirectResponse("/", status_code=303)

    @app.exception_handler(CsrfRejected)
    async def csrf_rejected(request: Request, exc: CsrfRejected) -> Response:
        language = language_for(request, None)
        message = language.gettext("This form has expired. Go back, reload the page and send it again.")
        return HTMLResponse(f"<!doctype html><title>403</title><p role='alert'>{message}</p>", status_code=403)

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok", "service": SERVICE}

    @app.get("/health/ready")
    async def ready() -> JSONResponse:
        checks = {"database": "failing", "consumer": "failing"}
        try:
            checks["database"] = "ok" if await console.database_ready() else "failing"
        except Exception:
            log.warning("console_database_not_ready", exc_info=True)
        if console.consumer is not None and console.consumer.ready():
            checks["consumer"] = "ok"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "service": SERVICE, "checks": checks},
            status_code=200 if ok else 503,
        )

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(console.request_metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/static/{name}")
    async def static(name: str) -> Response:
        path = HERE / "static" / name
        if "/" in name or not path.is_file():
            return Response(status_code=404)
        return FileResponse(path, headers={"Cache-Control": "public, max-age=300"})

    @app.get("/vendor/{name}")
    async def vendor(name: str) -> Response:
        parts = VENDOR_FILES.get(name)
        path = console.settings.vendor_dir.joinpath(*parts) if parts else None
        if path is None or not path.is_file():
            return Response(status_code=404)
        return FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})

    app.add_middleware(SecurityHeadersMiddleware, headers=PAGE_HEADERS)
    app.add_middleware(RequestLogMiddleware, metrics=console.request_metrics)
    return app
