"""ASGI middleware: body size and media type limits, security headers, request logs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.http.errors import ApiError, error_response

log = structlog.get_logger("shared.http")

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    # API responses hold personal data even masked: no shared or browser caching
    ("Cache-Control", "no-store"),
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
)


def is_json_media(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class BodyLimitMiddleware:
    """413 over the size limit (declared or streamed), 415 for a body that is not JSON.

    `larger` names the few paths allowed more (a create carrying a customer's photos), each with its own limit;
    every other route keeps the service's limit."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, larger: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.larger = dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope["path"], self.max_body_bytes)
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        has_body = bool(headers.get("transfer-encoding")) or (length not in (None, "0"))
        if length is not None:
            if not length.isdigit():
                await error_response(400, "invalid Content-Length")(scope, receive, send)
                return
            if int(length) > limit:
                await error_response(413, f"request body exceeds {limit} bytes")(scope, receive, send)
                return
        if has_body and not is_json_media(headers.get("content-type", "")):
            await error_response(415, "request bodies must be application/json")(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # raised inside the route's body read: FastAPI turns it into our 413 body
                    raise ApiError(413, f"request body exceeds {limit} bytes")
            return message

        await self.app(scope, limited_receive, send)


class SecurityHeadersMiddleware:
    """The same hardening headers on every response, errors included."""

    def __init__(self, app: ASGIApp, headers: Iterable[tuple[str, str]] = SECURITY_HEADERS) -> None:
        self.app = app
        self.headers = tuple(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                mutable = MutableHeaders(scope=message)
                for name, value in self.headers:
                    mutable.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RequestMetrics:
    """Prometheus metrics of one app, in its own registry so apps never collide."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "hotline_http_requests",
            "HTTP requests by route template and status",
            ["service", "method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hotline_http_request_seconds",
            "HTTP request duration by route template",
            ["service", "method", "route"],
            registry=self.registry,
        )
        self.service = service


PROBE_ROUTES = frozenset({"/health/live", "/health/ready", "/metrics"})


def _route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    # the template, not the raw path: raw paths carry ticket ids and blow up label cardinality
    return str(getattr(route, "path_format", None) or getattr(route, "path", None) or "unmatched")


class RequestLogMiddleware:
    """A request id on every log line and response, one access log record, metrics."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id", "")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id, service=self.metrics.service)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).setdefault("X-Request-ID", request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope["method"]
            self.metrics.requests.labels(self.metrics.service, method, route, str(status)).inc()
            self.metrics.latency.labels(self.metrics.service, method, route).observe(elapsed)
            client = scope.get("client")
            # probes and scrapes come every few seconds: only a failing one is worth an INFO line
            quiet = route in PROBE_ROUTES and status < 400
            (log.debug if quiet else log.info)(
                "http request",
                method=method,
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 1),
                client_ip=client[0] if client else None,
            )
            structlog.contextvars.clear_contextvars()
