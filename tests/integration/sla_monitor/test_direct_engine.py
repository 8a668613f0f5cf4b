"""The direct engine (HOTLINE_SLA_ENGINE=direct, issue 20) on a real broker: every breach once across a rebuild
from its changelog onto an empty volume (kill -9 on the kept volume and rebalances: test_breaches_survive_failures,
run with both engines)."""

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
