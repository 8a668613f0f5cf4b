"""Knowledge against real servers: a migrated PostgreSQL database, a Kafka topic of its own, the outbox relay."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from services.knowledge.bootstrap import KnowledgeService, build_api, build_relay, build_service, migrate
from services.knowledge.settings import KnowledgeSettings
from shared.bus import make_producer
from shared.clock import SystemClock
from shared.outbox import OutboxRelay
from shared.runtime import ServiceSettings
from tests.conftest import TopicFactory
from tests.unit.knowledge.conftest import auth


@pytest.fixture
async def topic(new_topic: TopicFactory) -> str:
    return await new_topic(partitions=3, prefix="knowledge")


@pytest.fixture
async def service(fresh_database_url: str, kafka_bootstrap: str, topic: str) -> AsyncIterator[KnowledgeService]:
    await asyncio.to_thread(migrate, fresh_database_url)
    built = build_service(
        ServiceSettings(kafka_bootstrap=kafka_bootstrap),
        KnowledgeSettings(knowledge_topic=topic),
        database_url=fresh_database_url,
        clock=SystemClock(),
    )
    yield built
    await built.close()


@pytest.fixture
async def relay(service: KnowledgeService, kafka_bootstrap: str) -> AsyncIterator[OutboxRelay]:
    producer = make_producer(kafka_bootstrap, "knowledge-test")
    await producer.start()
    built = build_relay(service, producer)
    stop = asyncio.Event()
    task = asyncio.create_task(built.run(stop))
    yield built
    stop.set()
    await task
    await producer.stop()


@pytest.fixture
async def client(service: KnowledgeService, relay: OutboxRelay) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_api(service, auth=auth(), relay=relay), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://knowledge") as c:
        yield c
