"""Issue 14 #3: a work order dispatch cannot handle ends in the center's manual queue, never only dead-lettered."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY

from tests.conftest import TopicFactory
from tests.integration.dispatch.harness import count, make_service, publish, read_until, worker
from tests.unit.dispatch.world import AUTH, CENTER, received

pytestmark = pytest.mark.integration


def _queued_alerts() -> float:
    value = REGISTRY.get_sample_value(
        "hotline_dispatch_manual_queue_total", {"branch": "default", "reason": "consumer_failed"}
    )
    return value or 0.0


async def test_a_ticket_with_a_nul_in_its_location_ends_in_the_manual_queue_with_an_alert(
    fresh_database_url: str, kafka_bootstrap: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    tickets, notices = await new_topic(partitions=1), await new_topic(partitions=1)
    service = await make_service(fresh_database_url, kafka_bootstrap, tickets, notices, tmp_path)
    # what an intake without edge validation let through: PostgreSQL refuses the NUL on insert
    bad = received(district="North\u00001")
    good = received(district="North-1")
    before = _queued_alerts()
    await publish(kafka_bootstrap, tickets, [bad, good])
    async with worker(service, retry_delay=0.05):
        got = await read_until(
            kafka_bootstrap,
            tickets,
            lambda g: count(g, "ManualDispatchQueued") >= 1 and count(g, "TicketDispatched") >= 1,
        )
    [queued] = [e for _, e in got if e.type == "ManualDispatchQueued"]
    assert queued.ticket_id == bad.ticket_id
    assert queued.payload.reason == "consumer_failed"  # type: ignore[attr-defined]
    assert _queued_alerts() == before + 1
    app = service.api_app(auth=AUTH)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dispatch") as client:
        queue = (await client.get("/api/v1/center/queue", headers=CENTER)).json()
    assert [t["ticket_id"] for t in queue] == [bad.ticket_id]
    await service.close()
