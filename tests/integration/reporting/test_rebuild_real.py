"""`hotline reporting rebuild` on real Kafka: the topics read from their beginning into a fresh store give the
very rows the live consumer wrote into PostgreSQL (tickets, clocks, facts, units, area calls)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.reporting.bootstrap import ReportingService
from services.reporting.store import AreaCall, ProcessedEvent, ReportClock, ReportFact, ReportTicket, ReportUnit
from shared.bus import EventConsumer
from shared.db import make_engine, make_sessions
from shared.events import Topic, encode
from tests.conftest import fresh_database
from tests.integration.reporting.conftest import Topics
from tests.unit.reporting.conftest import received
from tests.unit.reporting.traffic import traffic

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
TABLES = (ReportTicket, ReportClock, ReportFact, ReportUnit, AreaCall)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


async def rows_of(sessions: async_sessionmaker[AsyncSession]) -> dict[str, list[tuple[Any, ...]]]:
    found: dict[str, list[tuple[Any, ...]]] = {}
    async with sessions() as session:
        for model in TABLES:
            columns = [c.key for c in model.__mapper__.column_attrs]
            records = (await session.scalars(select(model))).all()
            found[model.__tablename__] = sorted(tuple(_plain(getattr(r, c)) for c in columns) for r in records)
    return found


async def test_a_rebuild_from_the_topics_equals_the_live_store(
    service: ReportingService,
    worker: EventConsumer,
    producer: AIOKafkaProducer,
    topics: Topics,
    kafka_bootstrap: str,
    database_url: str,
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    events = traffic(seed=7, tickets=60)
    events += [received(f"IT-AREA-{i}", now - timedelta(minutes=i), community=f"C{i % 2}") for i in range(12)]
    renamed = {Topic.TICKETS.value: topics.tickets, Topic.SLA.value: topics.sla}
    for event in events:
        await producer.send(renamed[event.topic], encode(event), key=event.key.encode())
    await producer.flush()
    async with asyncio.timeout(120):
        while True:
            async with service.sessions() as session:
                applied = await session.scalar(select(func.count()).select_from(ProcessedEvent))
            if applied == len(events):
                break
            await asyncio.sleep(0.5)
    live = await rows_of(service.sessions)
    assert len(live["report_tickets"]) == 72 and len(live["report_facts"]) > 100

    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": kafka_bootstrap,
        "HOTLINE_REPORTING_TICKETS_TOPIC": topics.tickets,
        "HOTLINE_REPORTING_SLA_TOPIC": topics.sla,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "COLUMNS": "120",
    }
    with fresh_database(database_url) as url:  # a second, empty PostgreSQL database for the rebuilt store

        def rebuild() -> subprocess.CompletedProcess[str]:
            command = [sys.executable, "-m", "hotline", "reporting", "rebuild", "--into", url]
            return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)

        done = await asyncio.to_thread(rebuild)
        assert done.returncode == 0, done.stderr[-3000:]
        assert f"rebuilt 72 tickets from {len(events)} events" in done.stdout

        engine = make_engine(url)
        try:
            assert await rows_of(make_sessions(engine)) == live
        finally:
            await engine.dispose()

        again = await asyncio.to_thread(rebuild)
        assert again.returncode == 2  # never over a store that holds one
        assert "already holds a reporting store" in again.stderr
