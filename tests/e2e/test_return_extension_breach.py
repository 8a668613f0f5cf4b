"""Stories of the unit side: a return and its re-dispatch, an extension granted and one denied, a breach escalated."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.e2e.harness import System
from tests.e2e.steps import QINGXIU, XINGNING, XIXIANGTANG, Hotline, ok, ticket_body


@pytest.mark.asyncio(loop_scope="session")
async def test_a_returned_ticket_is_corrected_and_dispatched_to_another_unit(system: System) -> None:
    desk = Hotline(system)
    district, first_unit, _ = QINGXIU
    new_district, second_unit, division = XINGNING
    ticket_id = (await desk.create(ticket_body("repair", district)))["ticket_id"]
    await desk.dispatched(ticket_id, first_unit)

    returned = await desk.unit_action(
        first_unit,
        ticket_id,
        "return",
        {"reason": "outside_duties", "reason_text": "地址实为兴宁区，不属本站服务范围"},
    )
    assert returned["status"] == "returned"
    await desk.events.wait_for(ticket_id, "TicketReturned", lambda p: p.reason == "outside_duties")
    queue = ok(await desk.center.get("/api/v1/center/queue"))
    assert ticket_id in [row["ticket_id"] for row in queue]

    redispatched = ok(
        await desk.center.post(
            f"/api/v1/tickets/{ticket_id}/dispatch", json={"unit_id": second_unit, "district": new_district}
        )
    )
    assert redispatched["unit_id"] == second_unit
    second = await desk.dispatched(ticket_id, second_unit, count=2)
    assert second.previous_unit_id == first_unit and second.mode == "manual" and second.division_id == division

    # the first unit lost the ticket; the second one works it
    stale = await desk.unit(first_unit).post(f"/api/v1/tickets/{ticket_id}/accept")
    assert stale.status_code in (403, 404, 409), stale.text
    await desk.unit_action(second_unit, ticket_id, "accept")
    await desk.view_when(ticket_id, "the new unit in the agent's view", lambda v: v["unit_id"] == second_unit)

    # RULES.md §2, §7: each return counts against the unit that returned it, in the ticket's record (issue 13)
    await desk.unit_action(
        second_unit, ticket_id, "return", {"reason": "customer_unreachable", "reason_text": "三次未接"}
    )
    record = ok(await desk.center.get(f"/api/v1/tickets/{ticket_id}"))
    assert record["returns_by_unit"] == {first_unit: 1, second_unit: 1} and record["return_count"] == 2


@pytest.mark.asyncio(loop_scope="session")
async def test_an_extension_is_granted_and_a_second_one_denied(system: System) -> None:
    desk = Hotline(system)
    district, unit, _ = XIXIANGTANG
    ticket_id = (await desk.create(ticket_body("repair", district)))["ticket_id"]
    await desk.dispatched(ticket_id, unit)
    await desk.unit_action(unit, ticket_id, "accept")
    worked = await desk.unit_action(unit, ticket_id, "contact", {"method": "visit"})
    [resolve] = [c for c in worked["clocks"] if c["clock"] == "resolve"]
    current = datetime.fromisoformat(resolve["deadline"])

    wanted = current + timedelta(days=2)
    asked = await desk.unit_action(
        unit,
        ticket_id,
        "extensions",
        {"clock": "resolve", "requested_deadline": wanted.isoformat(), "reason_text": "需等待更换立管配件"},
    )
    pending = ok(await desk.center.get("/api/v1/center/extensions"))
    assert asked["request_id"] in [row["request_id"] for row in pending]
    granted = ok(
        await desk.center.post(
            f"/api/v1/tickets/{ticket_id}/extensions/{asked['request_id']}/decision", json={"decision": "grant"}
        )
    )
    assert granted["status"] == "granted"
    event = await desk.events.wait_for(ticket_id, "ExtensionGranted")
    assert event.payload.new_deadline == wanted

    async def resolve_deadline() -> datetime:
        timer = await desk.timer(ticket_id, "resolve")
        assert timer["extended"] is True, timer
        return datetime.fromisoformat(timer["deadline"])

    moved = await system.eventually(resolve_deadline, what="the SLA monitor moves the resolve deadline")
    assert moved == wanted

    again = await desk.unit_action(
        unit,
        ticket_id,
        "extensions",
        {"clock": "resolve", "requested_deadline": (wanted + timedelta(days=3)).isoformat(), "reason_text": "再延"},
    )
    denied = ok(
        await desk.center.post(
            f"/api/v1/tickets/{ticket_id}/extensions/{again['request_id']}/decision",
            json={"decision": "deny", "reason_text": "配件已到货，无需再延"},
        )
    )
    assert denied["status"] == "denied"
    await desk.events.wait_for(ticket_id, "ExtensionDenied")
    assert await resolve_deadline() == wanted  # RULES.md §2: a refused extension leaves the deadline


@pytest.mark.asyncio(loop_scope="session")
async def test_a_ticket_left_without_contact_breaches_and_is_escalated_to_the_division(system: System) -> None:
    desk = Hotline(system)
    district, unit, division = XINGNING
    ticket_id = (await desk.create(ticket_body("repair", district, description="无人处理的报修")))["ticket_id"]
    await desk.dispatched(ticket_id, unit)
    # nobody at the unit phones the customer: the 2 h contact limit passes on the fast clock
    limit = system.real_seconds(timedelta(hours=2))
    within = limit + 90

    warning = await desk.events.wait_for(ticket_id, "SlaWarning", lambda p: p.clock == "contact", within=within)
    breach = await desk.events.wait_for(ticket_id, "SlaBreached", lambda p: p.clock == "contact", within=within)
    assert warning.payload.deadline == breach.payload.deadline
    assert breach.payload.unit_id == unit and breach.payload.division_id == division
    escalated = await desk.events.wait_for(
        ticket_id, "SlaEscalated", lambda p: p.clock == "contact" and p.to_level == "division"
    )
    assert escalated.payload.to_org_id == division and escalated.payload.reason == "breach"

    # the division supervisor finds it among the breached tickets of the division
    supervisor = system.client("intake", "division_supervisor", division=division)

    async def listed() -> bool:
        page = ok(await supervisor.get("/api/v1/tickets", params={"breached": "true"}))
        assert ticket_id in [row["ticket_id"] for row in page["tickets"]]
        return True

    await system.eventually(listed, what="the breached ticket in the division's search")
    assert len(desk.events.of(ticket_id, "SlaBreached")) == 1
