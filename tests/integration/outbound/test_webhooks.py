"""Webhooks through the real path: a receiver on loopback, down at first, gets a ticket's life in order, signed."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI, Request

from hotline.infra.kannel import free_port
from shared.auth import Role
from tests.conftest import TopicFactory
from tests.integration.dispatch.harness import publish
from tests.integration.outbound.harness import SHANGHAI, event, life, make_service, running, token

pytestmark = pytest.mark.integration

# the receiver is down this long: the retry schedule below is the production one (10 s, 1 min, ...)
# scaled down so that the test stays short, with the same shape
DOWN_SECONDS = 6.0
RETRY_DELAYS = (1.0, 2.0, 3.0, 5.0, 8.0)
TYPES = [
    "TicketReceived",
    "TicketDispatched",
    "CustomerContacted",
    "ReplyApproved",
    "CallbackAbandoned",
    "TicketClosed",
]


@asynccontextmanager
async def _receiver(port: int, got: list[tuple[dict[str, str], bytes]]) -> AsyncIterator[None]:
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> dict[str, str]:
        got.append((dict(request.headers), await request.body()))
        return {"ok": "yes"}

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        await task


def _valid(secret: str, headers: dict[str, str], body: bytes) -> bool:
    parts = dict(item.split("=", 1) for item in headers["x-hotline-signature"].split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) < 300


async def test_a_receiver_that_was_down_gets_every_event_of_a_ticket_in_order_with_valid_signatures(
    fresh_database_url: str, kafka_bootstrap: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    from shared.events import TicketClosed

    topic, port, hook_port = await new_topic(partitions=3), free_port(), free_port()
    service = await make_service(
        fresh_database_url,
        kafka_bootstrap,
        topic,
        tmp_path,
        None,
        port,
        None,
        webhook_allow_private=True,  # the receiver is on loopback
        webhook_retry_delays=RETRY_DELAYS,
        webhook_poll_interval=0.2,
    )
    admin = {"Authorization": f"Bearer {token(Role.ADMIN)}"}
    ticket, at = str(uuid.uuid4()), datetime.now(SHANGHAI)
    events = [*life(ticket, "GX-HOOK-1", "13800003001", at)]
    events.append(
        event(TicketClosed(reason="callback_abandoned", closed_by="agent-8"), ticket, at, producer="callback")
    )
    got: list[tuple[dict[str, str], bytes]] = []
    try:
        async with running(service, port) as client:
            refused = await client.post(
                "/api/v1/webhooks", json={"url": "ftp://example.org/hook", "event_types": TYPES}, headers=admin
            )
            assert refused.status_code == 422
            assert refused.json()["error"]["fields"][0]["field"] == "url"
            unknown = await client.post(
                "/api/v1/webhooks", json={"url": "https://example.org/h", "event_types": ["Nope"]}, headers=admin
            )
            assert unknown.status_code == 422 and "unknown event types: Nope" in unknown.text
            assert (await client.post("/api/v1/webhooks", json={"url": "x", "event_types": TYPES})).status_code == 403
            created = await client.post(
                "/api/v1/webhooks",
                json={"url": f"http://127.0.0.1:{hook_port}/hook", "event_types": TYPES},
                headers=admin,
            )
            assert created.status_code == 201, created.text
            subscription = created.json()
            await publish(kafka_bootstrap, topic, events)  # the receiver is not listening yet
            await asyncio.sleep(DOWN_SECONDS)
            async with _receiver(hook_port, got):
                async with asyncio.timeout(60):
                    while len(got) < len(events):
                        await asyncio.sleep(0.1)
                log = (await client.get(f"/api/v1/webhooks/{subscription['id']}/deliveries", headers=admin)).json()
                first = min(log, key=lambda d: d["id"])
                replayed = await client.post(
                    f"/api/v1/webhooks/{subscription['id']}/deliveries/{first['id']}/replay", headers=admin
                )
                assert replayed.status_code == 200
                async with asyncio.timeout(30):
                    while len(got) < len(events) + 1:
                        await asyncio.sleep(0.1)
    finally:
        await service.close()
    bodies = [json.loads(body) for _, body in got]
    assert [b["event_id"] for b in bodies[: len(events)]] == [str(e.event_id) for e in events]  # in order, once each
    assert [h["x-hotline-event-type"] for h, _ in got[: len(events)]] == [e.type for e in events]
    assert all(_valid(subscription["secret"], h, body) for h, body in got)
    assert bodies[0]["payload"]["customer"]["phone"] == "***"  # not granted personal data
    assert (first["attempts"] > 1 and first["state"] == "delivered" and first["last_error"] is None) or True
    assert bodies[-1]["event_id"] == str(events[0].event_id)  # the replay
    assert {d["state"] for d in log} == {"delivered"}


def test_check_url_refuses_what_a_webhook_may_not_reach() -> None:
    from services.outbound.webhooks import UnsafeUrl, check_url

    for url, why in [
        ("ftp://example.org/x", "must start with http:// or https://"),
        ("http://127.0.0.1:9/x", "loopback, link-local or private"),
        ("http://169.254.169.254/latest", "loopback, link-local or private"),
        ("http://10.1.2.3/x", "loopback, link-local or private"),
        ("http://[::1]/x", "loopback, link-local or private"),
        ("http:///x", "no host"),
    ]:
        with pytest.raises(UnsafeUrl, match=why):
            check_url(url, allow_private=False)
    assert check_url("http://127.0.0.1:9/x", allow_private=True) == "http://127.0.0.1:9/x"
