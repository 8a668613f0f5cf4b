"""Intake against real servers: a migrated PostgreSQL database, topics of its own, the worker's parts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from services.intake.bootstrap import Intake, build, migrate
from services.intake.settings import TopicNames
from shared.events import Topic
from shared.runtime import ServiceSettings
from tests.conftest import TopicFactory
from tests.unit.intake.conftest import auth


@pytest.fixture
async def topics(new_topic: TopicFactory) -> TopicNames:
    names = {topic: await new_topic(partitions=3, prefix=f"intake-{topic.value}") for topic in Topic}
    return TopicNames(names)


@pytest.fixture
async def intake(fresh_database_url: str, kafka_bootstrap: str, topics: TopicNames) -> AsyncIterator[Intake]:
    await asyncio.to_thread(migrate, fresh_database_url)
    settings = ServiceSettings(kafka_bootstrap=kafka_bootstrap)
    service = build(settings, database_url=fresh_database_url, topics=topics)
    service.worker_parts()
    await service.start_producer()
    yield service
    await service.close()


@pytest.fixture
async def client(intake: Intake) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=intake.api(auth=auth()), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as c:
        yield c


@pytest.fixture
async def consuming(intake: Intake) -> AsyncIterator[None]:
    """Intake's consumer running in the background for the test."""
    assert intake.consumer is not None
    stop = asyncio.Event()
    task = asyncio.create_task(intake.consumer.run(stop))
    async with asyncio.timeout(30):
        await intake.consumer.ready.wait()
    yield
    stop.set()
    await task


async def eventually(check: Callable[[], Awaitable[Any]], seconds: float = 30) -> Any:
    """Retry `check` until it returns something truthy (the e2e style: results arrive asynchronously)."""
    async with asyncio.timeout(seconds):
        while True:
            result = await check()
            if result:
                return result
            await asyncio.sleep(0.2)
