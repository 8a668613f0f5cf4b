"""The knowledge worker: relays the outbox (every workflow step and feedback) to hotline.knowledge.

The service consumes no topic; its only background work is the transactional outbox relay, and
its health server says whether the database answers and how many events wait to be sent.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.knowledge.store import Outbox
from shared.clock import Clock
from shared.events import Topic
from shared.outbox import OutboxRelay, Sender


class _ToTopic:
    """Sends every outbox row to `topic` (the service publishes on one topic; tests give it their own)."""

    def __init__(self, producer: Sender, topic: str) -> None:
        self._producer = producer
        self._topic = topic

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None) -> Any:
        return await self._producer.send(self._topic, value=value, key=key)


def knowledge_relay(
    service: str, sessions: async_sessionmaker[AsyncSession], producer: Sender, clock: Clock, topic: str
) -> OutboxRelay:
    sender = producer if topic == Topic.KNOWLEDGE.value else _ToTopic(producer, topic)
    return OutboxRelay(service, sessions, Outbox, sender, clock)


def worker_health(service: str, relay: OutboxRelay) -> FastAPI:
    """Liveness, readiness (the outbox table answers) and metrics of the relay process."""
    app = FastAPI(title=f"hotline {service} worker", openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get("/health/ready")
    async def ready() -> Any:
        try:
            pending = await relay.pending()
            checks = {"database": "ok"}
        except Exception:
            pending, checks = -1, {"database": "failing"}
        ok = all(value == "ok" for value in checks.values())
        body = {
            "status": "ok" if ok else "unavailable",
            "service": service,
            "checks": checks,
            "outbox_pending": pending,
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
