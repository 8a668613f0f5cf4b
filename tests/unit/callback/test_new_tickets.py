"""A new request raised on the callback: the original closes first, intake gets the new ticket, nothing is lost."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from services.callback.new_tickets import IntakeForwarder
from services.callback.settings import CallbackSettings
from tests.unit.callback.world import World, at, make_world

pytestmark = pytest.mark.unit

NEW_REQUEST = {
    "outcome": "reached",
    "problem_solved": True,
    "satisfaction": 4,
    "new_request": {"category": "service_request", "subtype": "safety_inspection", "description": "想预约安检"},
}


class FlakyIntake:
    """Refuses connections until told to come up, then creates tickets and remembers what it got."""

    def __init__(self) -> None:
        self.up = False
        self.received: list[tuple[dict[str, Any], httpx.Headers]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("connection refused", request=request)
        self.received.append((json.loads(request.content), request.headers))
        return httpx.Response(201, json={"ticket_id": "T-NEW-1", "ticket_number": "GX-20261125-000999"})


async def test_the_original_closes_first_and_the_new_ticket_survives_an_unreachable_intake(tmp_path: Path) -> None:
    settings = CallbackSettings(intake_api_key=SecretStr("hk_test"), forward_interval_seconds=1)
    world: World = await make_world(f"sqlite+aiosqlite:///{tmp_path / 'cb.db'}", at("2026-11-25 10:00"), settings)
    try:
        ticket = await world.ticket(at("2026-11-25 09:30"))
        callback_id = (await world.callback_of(ticket))["callback_id"]
        done = await world.call(callback_id, NEW_REQUEST)
        assert done["events"] == ["CallbackAttempted", "CallbackCompleted", "TicketClosed"]
        assert [r["status"] for r in done["callback"]["new_tickets"]] == ["pending"]

        intake = FlakyIntake()
        forwarder = IntakeForwarder(world.service.sessions, settings, world.clock, httpx.MockTransport(intake))
        assert await forwarder.forward_once() == 0  # intake is down: the request waits
        world.clock.advance(timedelta(seconds=1))
        assert await forwarder.forward_once() == 0  # backing off: not retried yet
        detail = (await world.client.get(f"/api/v1/callbacks/{callback_id}", headers=world.headers())).json()
        request = detail["new_tickets"][0]
        assert (request["status"], request["tries"]) == ("pending", 1) and "unreachable" in request["last_error"]

        intake.up = True
        world.clock.advance(timedelta(minutes=1))
        assert await forwarder.forward_once() == 1
        assert await forwarder.forward_once() == 0  # never sent twice
        body, headers = intake.received[0]
        assert body["parent_ticket_id"] == ticket
        assert (body["category"], body["subtype"]) == ("service_request", "safety_inspection")
        assert body["customer"]["phone"] == "13812345678"  # intake needs the number to call back
        assert headers["X-API-Key"] == "hk_test" and headers["Idempotency-Key"] == request["request_id"]
        detail = (await world.client.get(f"/api/v1/callbacks/{callback_id}", headers=world.headers())).json()
        assert detail["new_tickets"][0]["status"] == "created"
        assert detail["new_tickets"][0]["created_ticket_id"] == "T-NEW-1"
    finally:
        await world.client.aclose()
        await world.service.close()


async def test_a_request_intake_refuses_is_kept_as_rejected_for_a_person(tmp_path: Path) -> None:
    settings = CallbackSettings(intake_api_key=SecretStr("hk_test"))
    world = await make_world(f"sqlite+aiosqlite:///{tmp_path / 'cb.db'}", at("2026-11-25 10:00"), settings)
    try:
        ticket = await world.ticket(at("2026-11-25 09:30"))
        callback_id = (await world.callback_of(ticket))["callback_id"]
        await world.call(callback_id, NEW_REQUEST)
        refuse = httpx.MockTransport(lambda r: httpx.Response(422, json={"error": {"message": "bad"}}))
        forwarder = IntakeForwarder(world.service.sessions, settings, world.clock, refuse)
        assert await forwarder.forward_once() == 0
        detail = (await world.client.get(f"/api/v1/callbacks/{callback_id}", headers=world.headers())).json()
        assert detail["new_tickets"][0]["status"] == "rejected"
        assert "422" in detail["new_tickets"][0]["last_error"]
    finally:
        await world.client.aclose()
        await world.service.close()


async def test_intakes_field_errors_reach_the_desk_and_nothing_is_recorded_until_it_takes_the_request(
    tmp_path: Path,
) -> None:
    # issue 14 #4: a repair raised on the callback went to intake without an address, intake
    # answered 422, the request was marked rejected and the outcome still answered 200
    from services.intake.bootstrap import build as build_intake
    from services.intake.store import Base as IntakeBase
    from shared.auth import AuthSettings, hash_api_key
    from shared.auth.settings import ApiKeyEntry
    from shared.clock import FixedClock
    from shared.db import create_schema
    from shared.runtime import ServiceSettings
    from tests.unit.callback.world import BRANCH, SECRET

    intake = build_intake(
        ServiceSettings(),
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'intake.db'}",
        clock=FixedClock(at("2026-11-25 10:00")),
    )
    await create_schema(intake.engine, IntakeBase.metadata)
    key = "hk_callback-desk-key"
    intake_auth = AuthSettings(
        jwt_secret=SecretStr(SECRET),
        api_keys=[ApiKeyEntry(name="callback", branch=BRANCH, sha256=hash_api_key(key))],
    )
    transport = httpx.ASGITransport(app=intake.api(auth=intake_auth))
    settings = CallbackSettings(intake_api_key=SecretStr(key), intake_url="http://intake")
    world = await make_world(f"sqlite+aiosqlite:///{tmp_path / 'cb.db'}", at("2026-11-25 10:00"), settings, transport)
    try:
        # the original ticket is intake's own (a new request must name a parent that exists, issue 13)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as agent:
            original = {
                "category": "repair",
                "description": "燃气灶打不着火",
                "customer": {"name": "张小明", "phone": "13812345678", "address": "南宁市青秀区民族大道1号"},
            }
            made = await agent.post("/api/v1/tickets", json=original, headers={"X-API-Key": key})
            assert made.status_code == 201, made.text
        ticket = await world.ticket(at("2026-11-25 09:30"), ticket_id=made.json()["ticket_id"])
        callback_id = (await world.callback_of(ticket))["callback_id"]
        assert (await world.claim(callback_id)).status_code == 200
        repair = {"category": "repair", "description": "热水器点不着"}
        body = {"outcome": "reached", "problem_solved": True, "satisfaction": 4, "new_request": repair}
        refused = await world.outcome(callback_id, body)
        assert refused.status_code == 422, refused.text
        assert "body.new_request.address" in {f["field"] for f in refused.json()["error"]["fields"]}
        assert (await world.callback_of(ticket))["status"] != "completed"  # nothing recorded
        body["new_request"] = {**repair, "address": "南宁市青秀区民族大道100号"}
        done = await world.outcome(callback_id, body)
        assert done.status_code == 200, done.text
        [created] = done.json()["callback"]["new_tickets"]
        assert created["status"] == "created" and created["created_ticket_id"]
    finally:
        await world.client.aclose()
        await world.service.close()
        await intake.engine.dispose()


async def test_with_identity_configured_the_key_is_traded_for_a_token_kept_until_it_nearly_expires(
    tmp_path: Path,
) -> None:
    settings = CallbackSettings(
        intake_api_key=SecretStr("hk_from_identity"), identity_url="http://identity", forward_interval_seconds=1
    )
    world = await make_world(f"sqlite+aiosqlite:///{tmp_path / 'cb.db'}", at("2026-11-25 10:00"), settings)
    traded: list[dict[str, Any]] = []
    intake = FlakyIntake()
    intake.up = True

    def network(request: httpx.Request) -> httpx.Response:
        if request.url.host == "identity":
            traded.append(json.loads(request.content))
            return httpx.Response(200, json={"access_token": f"token-{len(traded)}", "expires_in": 600})
        return intake(request)

    try:
        for hour in ("09:00", "09:30"):
            ticket = await world.ticket(at(f"2026-11-25 {hour}"))
            await world.call((await world.callback_of(ticket))["callback_id"], NEW_REQUEST)
        forwarder = IntakeForwarder(world.service.sessions, settings, world.clock, httpx.MockTransport(network))
        assert await forwarder.forward_once() == 2
        assert traded == [{"api_key": "hk_from_identity"}]  # one token for both requests
        assert [h["Authorization"] for _, h in intake.received] == ["Bearer token-1", "Bearer token-1"]
        assert all("X-API-Key" not in h for _, h in intake.received)
    finally:
        await world.client.aclose()
        await world.service.close()


async def test_a_request_intake_refuses_later_is_listed_for_the_desk_with_intakes_field_errors(tmp_path: Path) -> None:
    settings = CallbackSettings(intake_api_key=SecretStr("hk_test"))
    world = await make_world(f"sqlite+aiosqlite:///{tmp_path / 'cb.db'}", at("2026-11-25 10:00"), settings)
    try:
        ticket = await world.ticket(at("2026-11-25 09:30"))
        callback_id = (await world.callback_of(ticket))["callback_id"]
        await world.call(callback_id, NEW_REQUEST)  # intake unreachable on the call: the request waits

        def refuse(request: httpx.Request) -> httpx.Response:
            error = {"code": "validation_failed", "message": "request validation failed"}
            fields = [{"field": "body.customer.address", "message": "required for this category"}]
            return httpx.Response(422, json={"error": {**error, "fields": fields}})

        forwarder = IntakeForwarder(world.service.sessions, settings, world.clock, httpx.MockTransport(refuse))
        assert await forwarder.forward_once() == 0
        listed = await world.client.get("/api/v1/new-requests", headers=world.headers())
        assert listed.status_code == 200, listed.text
        [item] = listed.json()
        assert (item["status"], item["callback_id"], item["parent_ticket_id"]) == ("rejected", callback_id, ticket)
        assert "body.customer.address" in item["last_error"]
    finally:
        await world.client.aclose()
        await world.service.close()
