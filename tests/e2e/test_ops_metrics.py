"""Ops: every process of `hotline up` names its role on /health, serves its own counters on /metrics, and errs alike."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from hotline import system as hotline_system
from shared.runtime import SERVICES
from tests.e2e.harness import System
from tests.e2e.steps import QINGXIU, Hotline, ticket_body

# the processes that keep a transactional outbox (the SLA monitor publishes from its Faust stream)
WITH_OUTBOX = ("intake", "dispatch", "callback", "knowledge")
# the workers that consume topics (identity's housekeeping and knowledge's relay consume none)
CONSUMING = ("intake", "dispatch", "sla_monitor", "callback")


async def scrape(port: int) -> dict[str, list[Sample]]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        response = await client.get(f"http://127.0.0.1:{port}/metrics")
    assert response.status_code == 200
    return {family.name: family.samples for family in text_string_to_metric_families(response.text)}


async def a_dispatched_repair(system: System, description: str) -> None:
    """Some work through every consumer: a repair created at intake and dispatched to its unit."""
    desk = Hotline(system)
    district, unit, _ = QINGXIU
    created = await desk.create(ticket_body("repair", district, description=description))
    await desk.dispatched(created["ticket_id"], unit)


def of_service(samples: list[Sample], service: str) -> list[Sample]:
    return [s for s in samples if s.labels.get("service") == service]


@pytest.mark.asyncio(loop_scope="session")
async def test_every_process_names_its_role_on_health(system: System) -> None:
    # a worker and an API per service, the SLA monitor one process
    assert len(system.processes) == len(hotline_system.plan(SERVICES))
    async with httpx.AsyncClient(timeout=10.0) as client:
        for name, port in system.processes.items():
            service, role = name.rsplit("-", 1)
            for path in ("/health/live", "/health/ready"):
                body = (await client.get(f"http://127.0.0.1:{port}{path}")).json()
                assert body["role"] == role, (name, path, body)
                assert body["service"] == (f"{service}-worker" if role == "worker" else service), (name, body)


@pytest.mark.asyncio(loop_scope="session")
async def test_every_process_serves_consumer_lag_dead_letter_and_outbox_gauges(system: System) -> None:
    await a_dispatched_repair(system, "灶具打不着火")

    for name, port in system.processes.items():
        service, role = name.rsplit("-", 1)
        families = await scrape(port)
        for family in ("hotline_consumer_lag", "hotline_events_dead_lettered", "hotline_http_requests"):
            assert family in families, (name, family, sorted(families))
        if role != "api" and service in CONSUMING:  # its own lag and dead-letter counts, one per reason, from 0
            assert of_service(families["hotline_consumer_lag"], service), (name, families["hotline_consumer_lag"])
            reasons = {s.labels["reason"] for s in of_service(families["hotline_events_dead_lettered"], service)}
            assert {"malformed", "unknown_type", "handler_failed"} <= reasons, (name, reasons)
        if service in WITH_OUTBOX:  # the outbox's unsent rows, counted at the scrape, in API and worker alike
            pending = of_service(families["hotline_outbox_pending"], service)
            assert len(pending) == 1 and pending[0].value >= 0, (name, pending)


@pytest.mark.asyncio(loop_scope="session")
async def test_each_service_counts_its_own_work_where_ops_scrape_it(system: System) -> None:
    await a_dispatched_repair(system, "燃气表不走字")

    async def dispatched_counted() -> bool:
        families = await scrape(system.processes["dispatch-worker"])
        dispatched = families["hotline_dispatch_dispatched"]
        consumed = of_service(families["hotline_events_consumed"], "dispatch")
        # the manual-dispatch counter is there before any ticket needs it
        return "hotline_dispatch_manual_queue" in families and any(s.value >= 1 for s in dispatched) and bool(consumed)

    await system.eventually(dispatched_counted, what="dispatch worker's own counters on its /metrics")

    async def sla_gauges() -> bool:
        families = await scrape(system.processes["sla_monitor-all"])
        return bool(families.get("hotline_sla_open_timers")) and "hotline_sla_consumer_lag" in families

    await system.eventually(sla_gauges, what="the SLA monitor's timer gauges on its /metrics")


@pytest.mark.asyncio(loop_scope="session")
async def test_every_port_answers_an_unknown_path_in_the_uniform_error_shape(system: System) -> None:
    async with httpx.AsyncClient(timeout=10.0) as client:
        for name, port in system.processes.items():
            response = await client.get(f"http://127.0.0.1:{port}/api/v1/no-such-thing")
            assert response.status_code == 404, name
            assert response.json() == {"error": {"code": "not_found", "message": "Not Found", "fields": []}}, name
        # the SLA monitor's read API lives under /api/v1 like every other API
        old = await client.get(f"{system.urls['sla_monitor']}/sla/stats")
        assert old.status_code == 404 and old.json()["error"]["code"] == "not_found"
