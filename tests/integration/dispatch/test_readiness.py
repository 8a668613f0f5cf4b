"""Issue 14 #7: a worker's /health/ready is false while its broker is dead and true again when it is back.

The broker is a private one (the session's broker is shared and must never be stopped).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from hotline.infra.kafka import KafkaServer
from hotline.infra.topics import create_topics
from shared.bus import make_producer
from tests.integration.dispatch.harness import make_service
from tests.integration.infra.private import private_broker_settings
from tests.unit.dispatch.world import AUTH

pytestmark = pytest.mark.integration


async def _ready(client: httpx.AsyncClient) -> tuple[int, dict[str, str]]:
    response = await client.get("/health/ready")
    return response.status_code, response.json()["checks"]


async def _until(client: httpx.AsyncClient, status: int, seconds: float = 90) -> dict[str, str]:
    async with asyncio.timeout(seconds):
        while True:
            code, checks = await _ready(client)
            if code == status:
                return checks
            await asyncio.sleep(0.5)


async def test_worker_readiness_follows_the_broker(fresh_database_url: str, tmp_path: Path) -> None:
    broker = KafkaServer(private_broker_settings(tmp_path / "kafka-state"))
    await asyncio.to_thread(broker.start)
    try:
        tickets, notices = f"t-{uuid.uuid4().hex[:6]}", f"n-{uuid.uuid4().hex[:6]}"
        await create_topics(broker.bootstrap, {tickets: 1, notices: 1})
        service = await make_service(fresh_database_url, broker.bootstrap, tickets, notices, tmp_path)
        producer = make_producer(broker.bootstrap, "dispatch-readiness-test")
        await producer.start()
        consumer = service.consumer(producer, service.relay(producer))
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        app = service.worker_app(consumer, auth=AUTH)
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://w") as client:
                checks = await _until(client, 200)
                assert checks == {"database": "ok", "broker": "ok", "consumer": "ok"}
                await asyncio.to_thread(broker.stop)
                checks = await _until(client, 503)
                assert checks["broker"] == "failing"
                await asyncio.to_thread(broker.start)
                checks = await _until(client, 200)
                assert checks == {"database": "ok", "broker": "ok", "consumer": "ok"}
        finally:
            stop.set()
            await asyncio.gather(task, return_exceptions=True)
            await producer.stop()
            await service.close()
    finally:
        await asyncio.to_thread(broker.stop)
