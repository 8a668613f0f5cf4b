"""/metrics of any app shows the process's own counters and gauges, refreshed at the scrape, and its requests."""

from __future__ import annotations

import httpx
from prometheus_client import Gauge

from shared.bus import count_dead_letters_of
from shared.http.app import create_app, create_worker_app
from shared.http.settings import HttpSettings
from tests.unit.auth.demo import auth_settings

# a process-wide gauge, as shared.outbox and shared.bus define theirs (the default registry)
QUEUE_DEPTH = Gauge("hotline_test_queue_depth", "a process gauge of this test", ["service"])


async def _get(app: object, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(path)


async def test_metrics_show_the_process_gauges_refreshed_before_the_scrape_and_the_request_counts() -> None:
    depth = iter([3, 7])

    async def refresh() -> None:
        QUEUE_DEPTH.labels("demo").set(next(depth))

    app = create_app("demo", HttpSettings(), auth=auth_settings(), metrics_refresh=[refresh])
    await _get(app, "/health/live")
    first = (await _get(app, "/metrics")).text
    assert 'hotline_test_queue_depth{service="demo"} 3.0' in first
    assert 'hotline_http_requests_total{method="GET",route="/health/live",service="demo",status="200"}' in first
    assert 'hotline_test_queue_depth{service="demo"} 7.0' in (await _get(app, "/metrics")).text


async def test_a_failing_refresh_leaves_the_metrics_served() -> None:
    async def broken() -> None:
        raise RuntimeError("database down")

    app = create_app("demo", HttpSettings(), auth=auth_settings(), metrics_refresh=[broken])
    response = await _get(app, "/metrics")
    assert response.status_code == 200 and "hotline_http_requests" in response.text


async def test_dead_letter_counts_are_shown_from_zero_for_every_reason() -> None:
    count_dead_letters_of("demo-consumer")
    text = (await _get(create_app("demo", HttpSettings(), auth=auth_settings()), "/metrics")).text
    for reason in ("malformed", "unknown_type", "unsupported_version", "invalid", "handler_failed"):
        assert f'hotline_events_dead_lettered_total{{reason="{reason}",service="demo-consumer"}} 0.0' in text


async def test_a_worker_app_names_its_role_and_needs_no_token_secret(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("HOTLINE_JWT_SECRET", raising=False)

    async def ok() -> bool:
        return True

    app = create_worker_app("callback", readiness={"database": ok})
    assert (await _get(app, "/health/live")).json() == {"status": "ok", "service": "callback-worker", "role": "worker"}
    ready = (await _get(app, "/health/ready")).json()
    assert ready["role"] == "worker" and ready["checks"] == {"database": "ok"}
