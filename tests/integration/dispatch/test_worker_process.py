"""The real worker process (`hotline service run dispatch --role worker`) SIGKILLed mid-stream and restarted."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import func, select

from services.dispatch.store import Ticket
from shared.db import make_engine, make_sessions
from tests.conftest import TopicFactory
from tests.integration.dispatch.harness import count, make_service, publish, read_until
from tests.unit.dispatch.world import received

pytestmark = pytest.mark.integration

TICKETS = 1500


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hotline", "service", "run", "dispatch", "--role", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


async def _dispatched_rows(url: str) -> int:
    engine = make_engine(url)
    try:
        async with make_sessions(engine)() as session:
            return int(await session.scalar(select(func.count()).select_from(Ticket)) or 0)
    finally:
        await engine.dispose()


async def test_a_sigkilled_worker_restarts_and_every_ticket_is_dispatched_exactly_once(
    fresh_database_url: str, kafka_bootstrap: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    tickets, notices = await new_topic(partitions=3), await new_topic(partitions=1)
    # migrate and seed once here; the process does the same (idempotently) at its start
    service = await make_service(fresh_database_url, kafka_bootstrap, tickets, notices, tmp_path)
    group = service.dispatch.consumer_group
    await service.close()
    env = {
        **os.environ,
        "HOTLINE_DISPATCH_DATABASE_URL": fresh_database_url,
        "HOTLINE_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "HOTLINE_STATE_DIR": str(tmp_path),
        "HOTLINE_WORKER_PORT": str(_free_port()),
        "HOTLINE_JWT_SECRET": "worker-process-test-secret-0123456789abcdef",
        "HOTLINE_DISPATCH_CONSUMER_GROUP": group,
        "HOTLINE_DISPATCH_TOPIC_TICKETS": tickets,
        "HOTLINE_DISPATCH_TOPIC_NOTIFICATIONS": notices,
        "HOTLINE_LOG_LEVEL": "WARNING",
    }
    events = [received(district=("North-1", "North-2", "South")[i % 3]) for i in range(TICKETS)]
    await publish(kafka_bootstrap, tickets, events)
    log = tmp_path / "worker.log"

    first = _start_worker(env, log)
    try:
        async with asyncio.timeout(90):
            while await _dispatched_rows(fresh_database_url) == 0:
                assert first.poll() is None, log.read_text()
                await asyncio.sleep(0.02)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # no clean shutdown: whatever was in flight is cut
        first.wait()
    handled_before_kill = await _dispatched_rows(fresh_database_url)

    second = _start_worker(env, log)
    try:
        got = await read_until(
            kafka_bootstrap, tickets, lambda g: count(g, "TicketDispatched") >= TICKETS, wait_seconds=120, linger=2.0
        )
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0, log.read_text()[-3000:]

    ids_by_ticket: dict[str, set[str]] = defaultdict(set)
    for _, event in got:
        if event.type == "TicketDispatched":
            ids_by_ticket[event.ticket_id or ""].add(str(event.event_id))
    assert set(ids_by_ticket) == {e.ticket_id for e in events}
    # a message sent twice by a relay cut before marking it sent keeps its event id: acted on once
    assert {len(ids) for ids in ids_by_ticket.values()} == {1}
    assert await _dispatched_rows(fresh_database_url) == TICKETS
    print(f"handled before SIGKILL: {handled_before_kill} of {TICKETS}")  # noqa: T201
