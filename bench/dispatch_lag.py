"""Dispatch lag with real Kafka and PostgreSQL: TicketReceived on the tickets topic → TicketDispatched on it, as JSON.

    python bench/dispatch_lag.py                    # 300 tickets paced at 50/s, then 1000 in one burst
    python bench/dispatch_lag.py --paced 0 --burst 5000 --time-limit 120

The dispatch worker (consumer + outbox relay, the code `hotline service run dispatch --role worker`
runs) works on its own database and its own topics; the benchmark puts TicketReceived events on
the tickets topic and watches the same topic for each ticket's TicketDispatched. Lag per ticket =
seen on the topic − sent; everything runs in this one process on this machine (producer, worker,
observer), so the figures include their competition for the CPU. Uses $KAFKA_BOOTSTRAP and
$DATABASE_URL when set; otherwise the local servers (`hotline infra`). Every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer
from sqlalchemy.engine import make_url

from hotline.infra.console import log_to_stderr
from hotline.infra.harness import server_for_session
from hotline.infra.postgres import TEST_DATABASE
from hotline.infra.settings import InfraSettings
from hotline.infra.topics import create_topics, delete_topics, unique_topic_name
from services.dispatch.bootstrap import build
from services.dispatch.settings import DispatchSettings
from shared.bus import make_producer
from shared.events import CustomerDetails, Location, TicketReceived, decode, encode, message_key, new_event
from shared.policy.categories import Category
from shared.runtime import ServiceSettings

DISTRICTS = ("North-1", "North-2", "South")  # routed by the default branch's org file


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _ticket(i: int) -> Any:
    now = datetime.now(UTC)
    payload = TicketReceived(
        ticket_number=f"BENCH-{i:06d}",
        channel="phone",
        category=Category.REPAIR,
        received_at=now,
        description="bench",
        customer=CustomerDetails(name="bench", phone="13800000000", address="bench road 1"),
        location=Location(district=DISTRICTS[i % len(DISTRICTS)]),
    )
    return new_event(
        payload,
        ticket_id=str(uuid.uuid4()),
        branch="default",
        producer="bench",
        correlation_id="bench",
        occurred_at=now,
    )


async def _phase(bootstrap: str, topic: str, count: int, rate: float, time_limit: float) -> dict[str, Any]:
    """Send `count` tickets (paced at `rate`/s, or all at once when rate is 0) and time each dispatch."""
    observer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="latest", group_id=None)
    await observer.start()
    await observer.seek_to_end()
    sent: dict[str, float] = {}
    lags: list[float] = []

    async def observe() -> None:
        while len(lags) < count:
            for batch in (await observer.getmany(timeout_ms=100)).values():
                for record in batch:
                    event = decode(record.value or b"")
                    if event.type == "TicketDispatched" and event.ticket_id in sent:
                        lags.append(time.perf_counter() - sent.pop(event.ticket_id))

    producer = make_producer(bootstrap, "bench-intake")
    await producer.start()
    watching = asyncio.create_task(observe())
    began = time.perf_counter()
    try:
        async with asyncio.timeout(time_limit):
            for i in range(count):
                event = _ticket(i)
                sent[event.ticket_id] = time.perf_counter()
                await producer.send(topic, encode(event), key=message_key(event))
                if rate > 0:
                    await asyncio.sleep(max(0.0, began + (i + 1) / rate - time.perf_counter()))
            await producer.flush()
            await watching
    except TimeoutError:
        watching.cancel()
    finally:
        elapsed = time.perf_counter() - began
        await producer.stop()
        await observer.stop()
    ms = [lag * 1000 for lag in lags]
    return {
        "tickets": count,
        "rate_per_s": rate or "burst",
        "dispatched": len(lags),
        "seconds": round(elapsed, 2),
        "dispatched_per_s": round(len(lags) / elapsed, 1) if elapsed else None,
        "lag_ms_p50": round(_percentile(ms, 0.50), 1),
        "lag_ms_p99": round(_percentile(ms, 0.99), 1),
        "lag_ms_max": round(max(ms), 1) if ms else None,
        "timed_out": len(lags) < count,
    }


async def _admin(server_url: str, statement: str) -> None:
    url = make_url(server_url)
    connection = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database=url.database
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def measure(
    bootstrap: str, server_url: str, paced: int, rate: float, burst: int, time_limit: float
) -> dict[str, Any]:
    name = f"bench_dispatch_{uuid.uuid4().hex[:8]}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    tickets, notices = unique_topic_name("bench-dispatch-tickets"), unique_topic_name("bench-dispatch-notices")
    await create_topics(bootstrap, {tickets: 3, notices: 1})
    scratch = Path(tempfile.mkdtemp(prefix="hotline-bench-dispatch-"))
    service = build(
        ServiceSettings(kafka_bootstrap=bootstrap, state_dir=scratch, log_level="WARNING"),
        DispatchSettings(
            topic_tickets=tickets,
            topic_notifications=notices,
            consumer_group=f"bench-dispatch-{uuid.uuid4().hex[:6]}",
            attachments_dir=scratch,
        ),
        database_url=make_url(server_url).set(database=name).render_as_string(hide_password=False),
    )
    producer = make_producer(bootstrap, "bench-dispatch-worker")
    stop = asyncio.Event()
    results: dict[str, Any] = {}
    try:
        await service.prepare()
        await producer.start()
        relay = service.relay(producer)
        consumer = service.consumer(producer, relay)
        tasks = [asyncio.create_task(consumer.run(stop)), asyncio.create_task(relay.run(stop))]
        async with asyncio.timeout(60):
            await consumer.ready.wait()
        if paced:
            results["paced"] = await _phase(bootstrap, tickets, paced, rate, time_limit)
        if burst:
            results["burst"] = await _phase(bootstrap, tickets, burst, 0, time_limit)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        stop.set()
        await producer.stop()
        await service.close()
        await delete_topics(bootstrap, [tickets, notices])
        await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {
        "benchmark": "dispatch_lag",
        "what": "TicketReceived sent -> TicketDispatched seen on the tickets topic (consumer, database, relay)",
        "broker": bootstrap,
        "database": "postgresql",
        "partitions": 3,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "results": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--paced", type=int, default=300, help="tickets sent at --rate per second (0: skip)")
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--burst", type=int, default=1000, help="tickets sent at once (0: skip)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per phase at most")
    args = parser.parse_args(argv)
    log_to_stderr()
    settings = InfraSettings()
    with (
        server_for_session("kafka", settings) as bootstrap,
        server_for_session("postgres", settings, database=TEST_DATABASE) as server_url,
    ):
        report = asyncio.run(measure(bootstrap, server_url, args.paced, args.rate, args.burst, args.time_limit))
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
