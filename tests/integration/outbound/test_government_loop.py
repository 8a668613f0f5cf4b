"""The 12345 reply loop through the real path: a 12345 ticket's results reach a platform on loopback, acknowledged."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from hotline.infra.kannel import free_port
from shared.auth import Role
from shared.events import (
    CustomerDetails,
    ExtensionGranted,
    ReplyApproved,
    TicketClosed,
    TicketReceived,
    TicketReplied,
    TicketReturned,
)
from shared.policy.categories import Category
from shared.policy.limits import SlaClock
from tests.conftest import TopicFactory
from tests.integration.dispatch.harness import publish
from tests.integration.outbound.harness import SHANGHAI, event, make_service, running, token

pytestmark = pytest.mark.integration

TOKEN = "platform-token-123"


@asynccontextmanager
async def _platform(port: int, got: list[dict[str, Any]], refuse: set[str]) -> AsyncIterator[None]:
    """A 12345 platform: answers 503 to each report's first try, 400 for tasks in `refuse`, else an ack."""
    app = FastAPI()
    tried: set[str] = set()

    @app.post("/reports")
    async def reports(request: Request) -> JSONResponse:
        body = await request.json()
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"error": "token"}, status_code=401)
        if body["task_id"] in refuse:
            return JSONResponse({"error": "unknown task"}, status_code=400)
        if body["event_id"] not in tried:
            tried.add(body["event_id"])
            return JSONResponse({"error": "busy"}, status_code=503)
        got.append(body)
        return JSONResponse({"ack_id": f"ACK-{len(got)}"})

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        await task


def _task_ticket(ticket: str, task_id: str, at: datetime) -> list[Any]:
    received = TicketReceived(
        ticket_number=f"GX-{task_id}",
        channel="gov12345",
        category=Category.REPAIR,
        received_at=at,
        customer=CustomerDetails(name="李四", phone="13800004001"),
        external_task_id=task_id,
    )
    return [
        event(received, ticket, at, producer="intake"),
        event(TicketReplied(reply_id="r-1", unit_id="UNIT-N1", handler_id="h-1", result="已更换阀门"), ticket, at),
        event(
            ExtensionGranted(
                request_id="x-1",
                unit_id="UNIT-N1",
                clock=SlaClock.RESOLVE,
                new_deadline=at + timedelta(days=2),
                supervisor_id="sup-1",
            ),
            ticket,
            at,
        ),
        event(TicketReturned(unit_id="UNIT-N1", handler_id="h-1", reason="outside_duties"), ticket, at),
        event(ReplyApproved(reply_id="r-1", unit_id="UNIT-N1", reviewer_id="sup-1", reply_received_at=at), ticket, at),
        event(TicketClosed(reason="callback_completed", closed_by="agent-8"), ticket, at, producer="callback"),
    ]


async def test_a_12345_tickets_results_reach_the_platform_in_order_and_a_refusal_is_visible_to_the_center(
    fresh_database_url: str, kafka_bootstrap: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic, port, platform_port = await new_topic(partitions=3), free_port(), free_port()
    service = await make_service(
        fresh_database_url,
        kafka_bootstrap,
        topic,
        tmp_path,
        None,
        port,
        None,
        government_url=f"http://127.0.0.1:{platform_port}/reports",
        government_token=TOKEN,
        government_retry_delays=(0.5, 0.5),
        government_poll_interval=0.2,
    )
    at = datetime.now(SHANGHAI)
    ticket, refused, plain = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    events = _task_ticket(ticket, "T12345-1", at)
    got: list[dict[str, Any]] = []
    center = {"Authorization": f"Bearer {token(Role.CENTER_SUPERVISOR)}"}
    try:
        async with running(service, port) as client, _platform(platform_port, got, {"T12345-BAD"}):
            ordinary = event(TicketReplied(reply_id="r-9", unit_id="UNIT-N1", handler_id="h-1", result="x"), plain, at)
            await publish(kafka_bootstrap, topic, [*events, *_task_ticket(refused, "T12345-BAD", at)[:2], ordinary])
            async with asyncio.timeout(60):
                while len(got) < 5:
                    await asyncio.sleep(0.1)
                while not (
                    await client.get("/api/v1/government/reports", params={"state": "failed"}, headers=center)
                ).json():
                    await asyncio.sleep(0.2)
            reports = (
                await client.get("/api/v1/government/reports", params={"ticket_id": ticket}, headers=center)
            ).json()
            failed = (await client.get("/api/v1/government/reports", params={"state": "failed"}, headers=center)).json()
            everything = (await client.get("/api/v1/government/reports", headers=center)).json()
    finally:
        await service.close()
    assert [r["action"] for r in got] == ["replied", "extended", "returned", "approved", "closed"]
    assert {r["task_id"] for r in got} == {"T12345-1"}
    assert got[0]["details"]["result"] == "已更换阀门" and "李四" not in str(got) and "13800004001" not in str(got)
    assert sorted(r["ack_id"] for r in reports) == [f"ACK-{i}" for i in range(1, 6)]
    assert {r["state"] for r in reports} == {"acknowledged"} and all(r["attempts"] == 2 for r in reports)
    assert [(r["ticket_id"], r["action"]) for r in failed] == [(refused, "replied")]
    assert "400" in failed[0]["last_error"]
    assert plain not in {r["ticket_id"] for r in everything}  # not a 12345 ticket: nothing goes back
