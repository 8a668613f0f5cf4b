"""Area notices on real Kafka and PostgreSQL: calls clustering on the ticket topic raise HotSpotDetected on the
reporting topic (through the outbox) and a banner for agents; a planned interruption shows beside it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.bus import EventConsumer
from shared.events import Event, HotSpotDetected, decode, encode
from tests.integration.reporting.conftest import Topics
from tests.unit.reporting.conftest import AGENT, CENTER, received

pytestmark = pytest.mark.integration


async def publish(producer: AIOKafkaProducer, topic: str, events: list[Event[Any]]) -> None:
    for event in events:
        await producer.send_and_wait(topic, encode(event), key=event.key.encode())


async def notices_until(client: httpx.AsyncClient, count: int, seconds: float = 30) -> list[dict[str, Any]]:
    params = {"branch": "demo", "district": "青秀区", "community": "凤岭小区"}
    async with asyncio.timeout(seconds):
        while True:
            answer = await client.get("/api/v1/area-notices", params=params, headers=AGENT)
            assert answer.status_code == 200, answer.text
            notices: list[dict[str, Any]] = answer.json()["notices"]
            if len(notices) >= count:
                return notices
            await asyncio.sleep(0.2)


async def test_clustering_calls_raise_one_hot_spot_event_and_a_banner_beside_a_planned_interruption(
    client: httpx.AsyncClient,
    worker: EventConsumer,
    producer: AIOKafkaProducer,
    topics: Topics,
    kafka_bootstrap: str,
) -> None:
    now = datetime.now(UTC)
    planned = await client.post(
        "/api/v1/planned-interruptions",
        json={
            "branch": "demo",
            "district": "青秀区",
            "starts_at": (now - timedelta(minutes=5)).isoformat(),
            "ends_at": (now + timedelta(hours=3)).isoformat(),
            "message": "青秀区中压管线检修，今日停气至18:00",
        },
        headers=CENTER,
    )
    assert planned.status_code == 201, planned.text
    assert [n["kind"] for n in await notices_until(client, 1)] == ["planned_interruption"]

    calls = [received(f"IT-HS-{i}", now - timedelta(minutes=30 - 5 * i)) for i in range(5)]
    await publish(producer, topics.tickets, calls)
    await publish(producer, topics.tickets, calls[:2])  # redelivered: counted once
    shown = await notices_until(client, 2)
    assert [(n["kind"], n["community"], n["count"]) for n in shown] == [
        ("planned_interruption", None, None),
        ("hot_spot", "凤岭小区", 5),
    ]

    reader = AIOKafkaConsumer(
        topics.reporting, bootstrap_servers=kafka_bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await reader.start()
    try:
        detected: list[Event[Any]] = []
        async with asyncio.timeout(30):
            while not detected:
                for batch in (await reader.getmany(timeout_ms=500)).values():
                    detected += [decode(m.value or b"") for m in batch]
        await asyncio.sleep(1)  # nothing else follows
        for batch in (await reader.getmany(timeout_ms=500)).values():
            detected += [decode(m.value or b"") for m in batch]
    finally:
        await reader.stop()
    assert len(detected) == 1
    event = detected[0]
    assert isinstance(event.payload, HotSpotDetected)
    assert event.key == shown[1]["notice_id"] == event.payload.hot_spot_id
    assert (event.payload.district, event.payload.community, event.payload.count) == ("青秀区", "凤岭小区", 5)
