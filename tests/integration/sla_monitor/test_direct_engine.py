"""The direct engine (HOTLINE_SLA_ENGINE=direct, issue 20) on a real broker: every breach once across a kill -9 and
restart on the kept volume, and across a rebuild from its changelog onto an empty volume."""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hotline.infra.topics import delete_topics
from tests.integration.sla_monitor.harness import (
    MonitorProcess,
    monitor_env,
    read_breaches,
    seen_messages,
    send_tickets,
)
from tests.integration.sla_monitor.test_breaches_survive_failures import _assert_each_once, topics

pytestmark = pytest.mark.integration
__all__ = ["topics"]  # the fixture, shared with the Faust engine's failure tests


@pytest.fixture
def direct_env(kafka_bootstrap: str, topics: tuple[str, str, str]):  # type: ignore[no-untyped-def]
    tickets, sla, ticks = topics
    app_id = f"sla-direct-it-{uuid.uuid4().hex[:8]}"
    env = monitor_env(kafka_bootstrap, tickets, sla, ticks, app_id)
    env["HOTLINE_SLA_ENGINE"] = "direct"
    yield env
    asyncio.run(delete_topics(kafka_bootstrap, [f"{app_id}-direct_timers-changelog"]))


def test_direct_engine_kill_9_and_restart_on_the_kept_volume_loses_and_doubles_no_breach(
    kafka_bootstrap: str, topics: tuple[str, str, str], direct_env: dict[str, str], tmp_path: Path
) -> None:
    tickets, sla, _ = topics
    worker = MonitorProcess(direct_env, tmp_path / "state", tmp_path / "worker.log")
    worker.start()
    try:
        worker.wait_ready()
        start = datetime.now(UTC) + timedelta(seconds=8)
        due = [start + timedelta(seconds=i * 0.1) for i in range(300)]  # 30 s of timers falling due
        ids = asyncio.run(send_tickets(kafka_bootstrap, tickets, due, "dkill"))
        time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()) + 10)
        worker.kill()  # about a third have fired; the rest fall due while no worker runs
        time.sleep(5)
        worker.start()  # same volume: the rows and the offsets they stand for
        breaches = asyncio.run(read_breaches(kafka_bootstrap, sla, len(ids), within=150))
        _assert_each_once(breaches, ids, worker)
    finally:
        worker.stop()


def test_direct_engine_rebuilds_from_its_changelog_on_an_empty_volume(
    kafka_bootstrap: str, topics: tuple[str, str, str], direct_env: dict[str, str], tmp_path: Path
) -> None:
    tickets, sla, _ = topics
    state = tmp_path / "state"
    worker = MonitorProcess(direct_env, state, tmp_path / "worker.log")
    worker.start()
    try:
        worker.wait_ready()
        first = datetime.now(UTC) + timedelta(seconds=6)
        fired = asyncio.run(
            send_tickets(
                kafka_bootstrap, tickets, [first + timedelta(milliseconds=20 * i) for i in range(100)], "dfired"
            )
        )
        asyncio.run(read_breaches(kafka_bootstrap, sla, len(fired), within=90))  # all breached before the loss
        later = datetime.now(UTC) + timedelta(seconds=25)
        pending = asyncio.run(
            send_tickets(
                kafka_bootstrap, tickets, [later + timedelta(milliseconds=50 * i) for i in range(100)], "dlater"
            )
        )
        time.sleep(6)  # consumed and committed: only the changelog knows these timers now
        worker.kill()
        shutil.rmtree(state)  # the volume is lost
        worker.start()
        worker.wait_ready(within=90)
        breaches = asyncio.run(read_breaches(kafka_bootstrap, sla, len(fired) + len(pending), within=150))
        _assert_each_once(breaches, fired + pending, worker)
        # the breaches out before the loss are known from the changelog: none is announced again
        assert seen_messages[sla] == len(fired) + len(pending), worker.log_tail()
    finally:
        worker.stop()
