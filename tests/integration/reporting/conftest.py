"""Reporting against real servers: a migrated PostgreSQL database, topics of its own, the consumer and the relay."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from services.reporting.bootstrap import (
    ReportingService,
    build_api,
    build_consumer,
    build_relay,
    build_service,
    migrate,
)
from services.reporting.settings import ReportingSettings
from shared.bus import EventConsumer, make_producer
from shared.clock import SystemClock
from shared.runtime import ServiceSettings
from tests.conftest import TopicFactory
from tests.unit.knowledge.conftest import auth


@dataclass(frozen=True)
class Topics:
    tickets: str
    sla: str
    reporting: str


@pytest.fixture
async def topics(new_topic: TopicFactory) -> Topics:
    return Topics(
        tickets=await new_topic(partitions=3, prefix="reporting-tickets"),
        sla=await new_topic(partitions=3, prefix="reporting-sla"),
        reporting=await new_topic(partitions=3, prefix="reporting-out"),
    )


def settings_for(topics: Topics, group: str) -> ReportingSettings:
    return ReportingSettings(
        tickets_topic=topics.tickets, sla_topic=topics.sla, reporting_topic=topics.reporting, consumer_group=group
    )


@pytest.fixture
async def service(fresh_database_url: str, kafka_bootstrap: str, topics: Topics) -> AsyncIterator[ReportingService]:
    await asyncio.to_thread(migrate, fresh_database_url)
    built = build_service(
        ServiceSettings(kafka_bootstrap=kafka_bootstrap),
        settings_for(topics, f"reporting-it-{topics.tickets}"),
        database_url=fresh_database_url,
        clock=SystemClock(),
    )
    yield built
    await built.close()


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    made = make_producer(kafka_bootstrap, "reporting-test")
    await made.start()
    yield made
    await made.stop()


@pytest.fixture
async def worker(service: ReportingService, producer: AIOKafkaProducer) -> AsyncIterator[EventConsumer]:
    """The worker's two tasks (consumer and relay) as `hotline service run reporting --role worker` runs them."""
    relay = build_relay(service, producer)
    consumer = build_consumer(service, producer, relay)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(consumer.run(stop)), asyncio.create_task(relay.run(stop))]
    async with asyncio.timeout(60):
        await consumer.ready.wait()
    yield consumer
    stop.set()
    await asyncio.gather(*tasks)


@pytest.fixture
async def client(service: ReportingService) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_api(service, auth=auth()), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://reporting") as c:
        yield c
