"""The callback worker as a real process on real Kafka and PostgreSQL: killed between scheduling and the
attempt, restarted, and the attempt is offered once, at the right time; claims race on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.callback.bootstrap import MIGRATIONS, build_relay
from services.callback.settings import CallbackSettings
from shared.bus import make_producer
from shared.db import upgrade_database
from shared.events import (
    CallbackPreference,
    CustomerDetails,
    Event,
    Payload,
    ReplyApproved,
    TicketDispatched,
    TicketReceived,
    TicketReplied,
    decode,
    encode,
    new_event,
)
from shared.policy.categories import Category
from tests.conftest import TopicFactory
from tests.unit.callback.world import World, at, make_world

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
REPLY_AT = at("2026-11-25 21:30")  # inside the quiet window: the first slot is 08:00 the next morning


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class WorkerProcess:
    """`services.callback.main.main('worker')` in its own process, as `hotline service run` starts it."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from services.callback.main import main; main('worker')"],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def wait_ready(self, seconds: float = 90) -> None:
        async with httpx.AsyncClient() as client, asyncio.timeout(seconds):
            while True:
                assert self.process is not None and self.process.poll() is None, self.log.read_text()[-3000:]
                try:
                    if (await client.get(f"http://127.0.0.1:{self.port}/health/ready")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)  # no clean shutdown: offsets may stay uncommitted
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def ticket_story(ticket_id: str, category: Category = Category.REPAIR) -> list[Event[Any]]:
    payloads: list[Payload] = [
        TicketReceived(
            channel="phone",
            category=category,
            received_at=REPLY_AT - timedelta(days=1),
            customer=CustomerDetails(name="李四", phone="13912345678"),
            callback=CallbackPreference(),
        ),
        TicketDispatched(unit_id="U1", division_id="D1", category=category, mode="automatic"),
        TicketReplied(reply_id="R1", unit_id="U1", handler_id="h1", result="已修复"),
        ReplyApproved(reply_id="R1", unit_id="U1", reviewer_id="sup-1", reply_received_at=REPLY_AT),
    ]
    return [
        new_event(p, ticket_id=ticket_id, branch="default", producer="test", correlation_id="it", occurred_at=REPLY_AT)
        for p in payloads
    ]


async def publish(producer: AIOKafkaProducer, topic: str, events: list[Event[Any]]) -> None:
    for event in events:
        await producer.send_and_wait(topic, encode(event), key=event.key.encode())


async def wait_for_types(
    bootstrap: str, topic: str, ticket_id: str, wanted: list[str], seconds: float = 60
) -> list[Event[Payload]]:
    """Read the topic from the start until `wanted` (in order, as a sub-sequence) showed up for the ticket."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    seen: list[Event[Payload]] = []
    try:
        async with asyncio.timeout(seconds):
            while True:
                for batch in (await consumer.getmany(timeout_ms=300)).values():
                    seen.extend(e for e in (decode(r.value or b"") for r in batch) if e.ticket_id == ticket_id)
                produced = [e.type for e in seen if e.producer == "callback"]
                if _contains_in_order(produced, wanted):
                    # look a moment longer: a duplicate would show up now
                    for batch in (await consumer.getmany(timeout_ms=1000)).values():
                        seen.extend(e for e in (decode(r.value or b"") for r in batch) if e.ticket_id == ticket_id)
                    return [e for e in seen if e.producer == "callback"]
    finally:
        await consumer.stop()


def _contains_in_order(items: list[str], wanted: list[str]) -> bool:
    position = 0
    for item in items:
        if position < len(wanted) and item == wanted[position]:
            position += 1
    return position == len(wanted)


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    started = make_producer(kafka_bootstrap, "callback-it")
    await started.start()
    yield started
    await started.stop()


async def test_worker_killed_between_scheduling_and_the_attempt_offers_it_once_at_the_right_time(
    fresh_database_url: str,
    kafka_bootstrap: str,
    new_topic: TopicFactory,
    producer: AIOKafkaProducer,
    tmp_path: Path,
) -> None:
    topic = await new_topic(partitions=3)
    await asyncio.to_thread(upgrade_database, fresh_database_url, MIGRATIONS)
    port = free_port()
    env = {
        **os.environ,
        "HOTLINE_CALLBACK_DATABASE_URL": fresh_database_url,
        "HOTLINE_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "HOTLINE_CALLBACK_TICKETS_TOPIC": topic,
        "HOTLINE_CALLBACK_CONSUMER_GROUP": f"hotline-callback-{uuid.uuid4().hex[:8]}",
        "HOTLINE_WORKER_PORT": str(port),
        "HOTLINE_STATE_DIR": str(tmp_path / "state"),
    }
    worker = WorkerProcess(env, port, tmp_path / "worker.log")
    ticket = str(uuid.uuid4())
    story = ticket_story(ticket)
    try:
        worker.start()
        await worker.wait_ready()
        await publish(producer, topic, story)
        await wait_for_types(kafka_bootstrap, topic, ticket, ["CallbackScheduled"])
        worker.kill()

        # while it is down the broker redelivers nothing new, but we replay the approval as a
        # redelivery would, and add a praise ticket as a marker that the restarted worker caught up
        marker = str(uuid.uuid4())
        await publish(producer, topic, [story[-1], *ticket_story(marker, Category.PRAISE)])
        worker.start()
        await worker.wait_ready()
        await wait_for_types(kafka_bootstrap, topic, marker, ["TicketClosed"])
    finally:
        worker.stop()

    world = await make_world(fresh_database_url, at("2026-11-26 07:59"))
    try:
        assert await world.due() == []  # the quiet window: not before 08:00
        world.clock.set(at("2026-11-26 08:00"))
        queue = await world.due()
        assert [item["ticket_id"] for item in queue] == [ticket]  # offered, and only once
        assert queue[0]["scheduled_for"] == "2026-11-26T08:00:00+08:00"
        callback_id = queue[0]["callback_id"]

        # ten agents claim it at the same instant on PostgreSQL: exactly one gets it
        answers = await asyncio.gather(*(world.claim(callback_id, f"agent-{i}") for i in range(10)))
        assert sorted(a.status_code for a in answers) == [200] + [409] * 9
        winner = next(a for a in answers if a.status_code == 200).json()["claimed_by"]
        assert await world.due() == []
        done = await world.outcome(
            callback_id, {"outcome": "reached", "problem_solved": True, "satisfaction": 5}, winner
        )
        assert done.status_code == 200, done.text

        relay_producer = make_producer(kafka_bootstrap, "callback-it-relay")
        await relay_producer.start()
        try:
            world.service.callback = CallbackSettings(tickets_topic=topic)
            relay = build_relay(world.service, relay_producer)
            while await relay.relay_once():
                pass
        finally:
            await relay_producer.stop()
        produced = await wait_for_types(
            kafka_bootstrap,
            topic,
            ticket,
            ["CallbackScheduled", "CallbackAttempted", "CallbackCompleted", "TicketClosed"],
        )
        assert [e.type for e in produced] == [
            "CallbackScheduled",
            "CallbackAttempted",
            "CallbackCompleted",
            "TicketClosed",
        ]
    finally:
        await world.client.aclose()
        await world.service.close()


async def test_claims_race_on_postgresql(fresh_database_url: str) -> None:
    await asyncio.to_thread(upgrade_database, fresh_database_url, MIGRATIONS)
    world: World = await make_world(fresh_database_url, at("2026-11-25 10:00"))
    try:
        tickets = [await world.ticket(at("2026-11-25 09:30")) for _ in range(5)]
        ids = [(await world.callback_of(t))["callback_id"] for t in tickets]
        claims = [world.claim(callback_id, f"agent-{agent}") for callback_id in ids for agent in range(4)]
        answers = await asyncio.gather(*claims)
        won = [a.json()["callback_id"] for a in answers if a.status_code == 200]
        assert sorted(won) == sorted(ids)  # each callback went to exactly one agent
        assert sum(a.status_code == 409 for a in answers) == 15
    finally:
        await world.client.aclose()
        await world.service.close()
