"""The agent API: validation per category, splitting, first-contact close, alarms, 12345, role scope."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from services.intake.bootstrap import Intake
from services.intake.store import Outbox, Ticket
from services.intake.worker import ViewBuilder
from shared.auth import Role
from shared.events import TicketDispatched, decode, new_event
from shared.policy.categories import Category
from tests.unit.intake.conftest import AGENT, NOW, complaint, fields_of, repair, token


async def outbox_events(intake: Intake) -> list[Any]:
    async with intake.sessions() as session:
        rows = (await session.scalars(select(Outbox).order_by(Outbox.id))).all()
    return [decode(r.value) for r in rows]


async def ticket_count(intake: Intake) -> int:
    async with intake.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Ticket)) or 0)


async def dispatch(intake: Intake, ticket_id: str, unit: str, division: str, category: str = "repair") -> None:
    event = new_event(
        TicketDispatched(unit_id=unit, division_id=division, category=Category(category), mode="automatic"),
        ticket_id=ticket_id,
        branch="demo",
        producer="dispatch",
        correlation_id=ticket_id,
        occurred_at=NOW + timedelta(minutes=3),
    )
    await ViewBuilder(intake.sessions, intake.clock, intake.policies)([event])


# --------------------------------------------------------------------------- create and numbers


async def test_a_repair_gets_a_daily_number_one_event_and_a_running_dispatch_clock(
    client: httpx.AsyncClient, intake: Intake
) -> None:
    first = await client.post("/api/v1/tickets", json=repair(), headers=AGENT)
    second = await client.post("/api/v1/tickets", json=repair(), headers=AGENT)
    assert first.status_code == 201, first.text
    assert first.json()["ticket_number"] == "DEMO-20261127-000001"
    assert second.json()["ticket_number"] == "DEMO-20261127-000002"
    events = await outbox_events(intake)
    assert [e.type for e in events] == ["TicketReceived", "TicketReceived"]
    received = events[0]
    assert received.ticket_id == first.json()["ticket_id"]
    assert received.payload.customer.phone == "13800138000"
    assert received.payload.owner_agent_id == "agent-7"
    view = (await client.get(f"/api/v1/tickets/{received.ticket_id}", headers=AGENT)).json()
    assert view["status"] == "received"
    [dispatch_clock] = view["clocks"]
    assert dispatch_clock["clock"] == "dispatch" and dispatch_clock["state"] == "running"
    # RULES.md §2: a repair is dispatched within 5 minutes of receipt
    assert dispatch_clock["deadline"] == "2026-11-27T10:05:00+08:00"  # in the branch zone (issue 13 item 5)
    assert view["customer"]["phone"] == "138****8000"
    assert view["customer"]["name"] == "张*"


async def test_a_landline_with_area_code_is_accepted_and_normalised(client: httpx.AsyncClient, intake: Intake) -> None:
    body = repair(customer={"name": "王五", "phone": "0771-5678678", "address": "南宁市兴宁区朝阳路1号"})
    response = await client.post("/api/v1/tickets", json=body, headers=AGENT)
    assert response.status_code == 201, response.text
    [event] = await outbox_events(intake)
    assert event.payload.customer.phone == "07715678678"


# --------------------------------------------------------------------------- validation


async def expect_422(client: httpx.AsyncClient, intake: Intake, body: dict[str, Any], *fields: str) -> None:
    response = await client.post("/api/v1/tickets", json=body, headers=AGENT)
    assert response.status_code == 422, response.text
    assert set(fields) <= fields_of(response), response.json()
    assert await ticket_count(intake) == 0 and await outbox_events(intake) == []


async def test_alarms_repairs_and_service_requests_need_an_address(client: httpx.AsyncClient, intake: Intake) -> None:
    for category, extra in (("repair", {}), ("service_request", {"subtype": "installation"}), ("alarm", {})):
        body = {"category": category, "customer": {"name": "张三", "phone": "13800138000"}, **extra}
        await expect_422(client, intake, body, "body.customer.address")


async def test_a_repair_without_a_description_is_refused(client: httpx.AsyncClient, intake: Intake) -> None:
    # RULES.md §1: what the caller reports is the unit's work; only a query is answered without one
    for description in ("", "   "):
        await expect_422(client, intake, repair(description=description), "body.description")
    body = {**complaint(), "description": ""}
    await expect_422(client, intake, body, "body.description")


async def test_each_request_of_a_call_needs_its_description(client: httpx.AsyncClient, intake: Intake) -> None:
    body = {
        "customer": {"name": "张三", "phone": "13800138000", "address": "南宁市青秀区民族大道100号3栋501"},
        "requests": [{"category": "repair", "description": "漏气"}, {"category": "suggestion"}],
    }
    response = await client.post("/api/v1/calls/call-77/requests", json=body, headers=AGENT)
    assert response.status_code == 422, response.text
    assert fields_of(response) == {"body.requests.1.description"}
    assert await ticket_count(intake) == 0


async def test_an_alarm_needs_the_scene(client: httpx.AsyncClient) -> None:
    body = {"address": "民族大道1号", "name": "张三", "phone": "13800138000"}
    response = await client.post("/api/v1/alarms", json=body, headers=AGENT)
    assert response.status_code == 422 and "body.scene" in fields_of(response)


async def test_an_alarm_needs_the_callers_name(client: httpx.AsyncClient, intake: Intake) -> None:
    body = {"category": "alarm", "customer": {"phone": "13800138000", "address": "民族大道1号"}}
    await expect_422(client, intake, body, "body.customer.name")


async def test_phone_numbers_must_be_chinese_mobile_or_landline(client: httpx.AsyncClient, intake: Intake) -> None:
    for phone in ("12345", "5678678", "+1 415 555 0100", "1380013800"):
        body = repair(customer={"name": "张三", "phone": phone, "address": "民族大道1号"})
        await expect_422(client, intake, body, "body.customer.phone")


async def test_a_phone_is_required_where_someone_must_call_back(client: httpx.AsyncClient, intake: Intake) -> None:
    await expect_422(client, intake, repair(customer={"address": "民族大道1号"}), "body.customer.phone")
    declined = {"category": "suggestion", "description": "多开网点", "callback": {"mode": "declined"}}
    assert (await client.post("/api/v1/tickets", json=declined, headers=AGENT)).status_code == 201


async def test_service_requests_need_a_subtype_and_others_take_none(client: httpx.AsyncClient, intake: Intake) -> None:
    body = repair(category="service_request")
    await expect_422(client, intake, body, "body.subtype")
    await expect_422(client, intake, repair(subtype="installation"), "body.subtype")
    await expect_422(client, intake, repair(subtype="teleport"), "body.subtype")


async def test_a_complaint_needs_its_subject_and_only_complaints_have_one(
    client: httpx.AsyncClient, intake: Intake
) -> None:
    body = complaint()
    body["complaint"] = {"complainant_count": 1}
    await expect_422(client, intake, body, "body.complaint.place", "body.complaint.complaint_type")
    body = complaint()
    del body["complaint"]
    await expect_422(client, intake, body, "body.complaint")
    await expect_422(client, intake, repair(complaint={"place": "x", "complaint_type": "y"}), "body.complaint")
    linked = complaint()
    linked["complaint"] = {"subject_key": "other|民族大道100号|meter_reading"}
    await expect_422(client, intake, linked, "body.complaint.subject_key")


async def test_every_bad_field_is_named_in_one_answer(client: httpx.AsyncClient, intake: Intake) -> None:
    body = {
        "category": "service_request",
        "customer": {"phone": "999", "id_card_number": "110105194912310021"},
        "callback": {"mode": "customer_time", "requested_at": (NOW - timedelta(hours=1)).isoformat()},
    }
    await expect_422(
        client,
        intake,
        body,
        "body.subtype",
        "body.customer.address",
        "body.customer.phone",
        "body.customer.id_card_number",
        "body.callback.requested_at",
    )


async def test_structural_errors_are_field_level_too(client: httpx.AsyncClient, intake: Intake) -> None:
    await expect_422(client, intake, repair(category="weather"), "body.category")
    await expect_422(client, intake, repair(colour="red"), "body.colour")
    naive = repair(callback={"mode": "customer_time", "requested_at": "2026-11-28T10:00:00"})
    await expect_422(client, intake, naive, "body.callback.requested_at")


async def test_a_customer_time_callback_is_kept_on_the_event(client: httpx.AsyncClient, intake: Intake) -> None:
    later = NOW + timedelta(days=1)
    body = repair(callback={"mode": "customer_time", "requested_at": later.isoformat()})
    assert (await client.post("/api/v1/tickets", json=body, headers=AGENT)).status_code == 201
    [event] = await outbox_events(intake)
    assert event.payload.callback.requested_at == later


# --------------------------------------------------------------------------- first contact


async def test_a_query_is_answered_on_the_call(client: httpx.AsyncClient, intake: Intake) -> None:
    query: dict[str, Any] = {"category": "query", "description": "本月账单"}
    await expect_422(client, intake, query, "body.first_contact_resolution")
    query["first_contact_resolution"] = {"answer": "账单已发送短信", "knowledge_article_id": "KB-3"}
    response = await client.post("/api/v1/tickets", json=query, headers=AGENT)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "resolved_on_call"
    events = await outbox_events(intake)
    assert [e.type for e in events] == ["TicketReceived", "TicketResolvedOnFirstContact"]
    assert events[1].payload.knowledge_article_id == "KB-3"
    view = (await client.get(f"/api/v1/tickets/{events[0].ticket_id}", headers=AGENT)).json()
    assert view["resolution"]["answer"] == "账单已发送短信"
    assert view["closed_at"] is not None


async def test_close_an_open_consultation_on_the_call_once(client: httpx.AsyncClient, intake: Intake) -> None:
    body = {"category": "consultation", "customer": {"phone": "13800138000"}, "description": "如何过户"}
    ticket_id = (await client.post("/api/v1/tickets", json=body, headers=AGENT)).json()["ticket_id"]
    url = f"/api/v1/tickets/{ticket_id}/first-contact-resolution"
    answer = {"answer": "带身份证和房产证到营业厅", "knowledge_article_id": "KB-9"}
    first = await client.post(url, json=answer, headers=AGENT)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "resolved_on_call"
    again = await client.post(url, json=answer, headers=AGENT)
    assert again.status_code == 409
    assert [e.type for e in await outbox_events(intake)] == ["TicketReceived", "TicketResolvedOnFirstContact"]


async def test_complaints_and_alarms_are_not_closed_on_the_call(client: httpx.AsyncClient, intake: Intake) -> None:
    body = complaint()
    body["first_contact_resolution"] = {"answer": "已道歉"}
    await expect_422(client, intake, body, "body.first_contact_resolution")
    ticket_id = (await client.post("/api/v1/tickets", json=complaint(), headers=AGENT)).json()["ticket_id"]
    refused = await client.post(
        f"/api/v1/tickets/{ticket_id}/first-contact-resolution", json={"answer": "已道歉"}, headers=AGENT
    )
    assert refused.status_code == 422


# --------------------------------------------------------------------------- several requests on one call


async def test_one_call_forms_one_ticket_per_unit_under_its_highest_category(
    client: httpx.AsyncClient, intake: Intake
) -> None:
    body = {
        "customer": {"name": "张三", "phone": "13800138000", "address": "民族大道100号3栋501"},
        "requests": [
            {"category": "consultation", "unit_id": "U-1", "description": "缴费方式"},
            {"category": "repair", "unit_id": "U-1", "description": "热水器打不着"},
            {
                "category": "complaint",
                "unit_id": "U-1",
                "description": "维修员迟到",
                "complaint": {"place": "民族大道100号", "complaint_type": "late_visit"},
            },
            {"category": "service_request", "subtype": "conversion", "unit_id": "U-2", "description": "置换通气"},
            {"category": "praise", "unit_id": "U-2", "description": "表扬抄表员"},
        ],
    }
    response = await client.post("/api/v1/calls/call-77/requests", json=body, headers=AGENT)
    assert response.status_code == 201, response.text
    tickets = response.json()["tickets"]
    assert [(t["unit_id"], t["category"]) for t in tickets] == [("U-1", "complaint"), ("U-2", "service_request")]
    events = await outbox_events(intake)
    assert [e.type for e in events] == ["TicketReceived", "TicketReceived"]
    first, second = (e.payload for e in events)
    assert first.call_id == second.call_id == "call-77"
    assert first.complaint is not None and first.complaint.complaint_type == "late_visit"
    assert "热水器打不着" in first.description and "缴费方式" in first.description
    assert second.subtype == "conversion"
    assert first.unit_id == "U-1" and second.unit_id == "U-2"


async def test_a_bad_request_on_a_call_stores_none_of_them(client: httpx.AsyncClient, intake: Intake) -> None:
    body = {
        "customer": {"phone": "13800138000", "address": "民族大道100号"},
        "requests": [
            {"category": "repair", "unit_id": "U-1"},
            {"category": "service_request", "unit_id": "U-2"},
        ],
    }
    response = await client.post("/api/v1/calls/call-78/requests", json=body, headers=AGENT)
    assert response.status_code == 422
    assert "body.requests.1.subtype" in fields_of(response)
    assert await ticket_count(intake) == 0


# --------------------------------------------------------------------------- alarm


async def test_the_alarm_path_notices_the_unit_first_and_returns_the_precautions(
    client: httpx.AsyncClient, intake: Intake
) -> None:
    body = {
        "address": "南宁市青秀区民族大道100号3栋501",
        "name": "张三",
        "phone": "13800138000",
        "scene": "厨房有很浓的燃气味",
        "unit_id": "U-3",
        "call_id": "call-9",
    }
    response = await client.post("/api/v1/alarms", json=body, headers=AGENT)
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["urgent_notice_sent"] is True
    assert any("阀门" in line for line in result["precautions"])
    events = await outbox_events(intake)
    assert [e.type for e in events] == ["UrgentNoticeRequested", "TicketReceived"]
    notice, received = events
    assert notice.ticket_id == received.ticket_id == result["ticket"]["ticket_id"]
    assert [r.org_id for r in notice.payload.recipients] == ["U-3"]
    assert notice.payload.address == body["address"] and notice.payload.contact_phone == "13800138000"
    assert received.payload.category == "alarm" and received.payload.hazardous and received.payload.unit_id == "U-3"


async def test_an_alarm_without_a_unit_leaves_the_notice_to_dispatch(client: httpx.AsyncClient, intake: Intake) -> None:
    body = {"address": "民族大道1号", "name": "张三", "phone": "13800138000", "scene": "闻到气味"}
    response = await client.post("/api/v1/alarms", json=body, headers=AGENT)
    assert response.json()["urgent_notice_sent"] is False
    assert [e.type for e in await outbox_events(intake)] == ["TicketReceived"]
    missing = await client.post("/api/v1/alarms", json={"name": "张三", "phone": "13800138000"}, headers=AGENT)
    assert missing.status_code == 422 and "body.address" in fields_of(missing)


# --------------------------------------------------------------------------- 12345


def gov_task(task_id: str, deadline_hours: float | None) -> dict[str, Any]:
    deadline = None if deadline_hours is None else (NOW + timedelta(hours=deadline_hours)).isoformat()
    return {"external_task_id": task_id, "deadline": deadline, "ticket": repair()}


async def test_the_same_12345_task_twice_makes_one_ticket(client: httpx.AsyncClient, intake: Intake) -> None:
    integration = token(Role.INTEGRATION, subject="gov-gateway")
    first = await client.post("/api/v1/gov12345/tasks", json=gov_task("T-778899", 24), headers=integration)
    second = await client.post("/api/v1/gov12345/tasks", json=gov_task("T-778899", 24), headers=integration)
    assert first.status_code == 201 and first.json()["created"] is True
    assert second.status_code == 200 and second.json()["created"] is False
    assert first.json()["ticket"]["ticket_id"] == second.json()["ticket"]["ticket_id"]
    [event] = await outbox_events(intake)
    assert event.payload.channel == "gov12345" and event.payload.external_task_id == "T-778899"
    assert event.payload.owner_agent_id is None


async def test_the_governments_deadline_is_kept_only_when_stricter(client: httpx.AsyncClient, intake: Intake) -> None:
    # a repair resolves within 3 working days of dispatch (RULES.md §2)
    strict = await client.post("/api/v1/gov12345/tasks", json=gov_task("T-1", 24), headers=AGENT)
    loose = await client.post("/api/v1/gov12345/tasks", json=gov_task("T-2", 24 * 30), headers=AGENT)
    assert strict.json()["ticket"]["external_deadline_kept"] is True
    assert loose.json()["ticket"]["external_deadline_kept"] is False
    strict_event, loose_event = await outbox_events(intake)
    assert strict_event.payload.external_deadline == NOW + timedelta(hours=24)
    assert loose_event.payload.external_deadline is None
    past = await client.post("/api/v1/gov12345/tasks", json=gov_task("T-3", -1), headers=AGENT)
    assert past.status_code == 422 and "body.deadline" in fields_of(past)


# --------------------------------------------------------------------------- roles and scope


async def test_only_agents_the_center_and_machine_clients_take_work_orders(client: httpx.AsyncClient) -> None:
    for headers in (token(Role.UNIT_HANDLER, unit="U-1"), token(Role.AUDITOR)):
        assert (await client.post("/api/v1/tickets", json=repair(), headers=headers)).status_code == 403
    assert (await client.post("/api/v1/tickets", json=repair())).status_code == 401
    center = token(Role.CENTER_SUPERVISOR)
    assert (await client.post("/api/v1/tickets", json=repair(), headers=center)).status_code == 201
    other_branch = repair(branch="default")
    assert (await client.post("/api/v1/tickets", json=other_branch, headers=AGENT)).status_code == 403


async def test_a_retried_create_with_the_same_idempotency_key_makes_one_ticket(client: httpx.AsyncClient) -> None:
    # the callback service forwards a new request raised during a callback (RULES.md §5) and may retry
    machine = {**token(Role.INTEGRATION), "Idempotency-Key": "callback-request-42"}
    first = await client.post("/api/v1/tickets", json=repair(), headers=machine)
    again = await client.post("/api/v1/tickets", json=repair(), headers=machine)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["ticket_id"] == first.json()["ticket_id"]
    other = await client.post("/api/v1/tickets", json=repair(), headers={**machine, "Idempotency-Key": "other"})
    assert other.status_code == 201 and other.json()["ticket_id"] != first.json()["ticket_id"]


async def test_units_and_divisions_see_only_their_tickets(client: httpx.AsyncClient, intake: Intake) -> None:
    mine = (await client.post("/api/v1/tickets", json=repair(), headers=AGENT)).json()["ticket_id"]
    theirs = (await client.post("/api/v1/tickets", json=repair(), headers=AGENT)).json()["ticket_id"]
    await dispatch(intake, mine, "U-1", "D-1")
    await dispatch(intake, theirs, "U-2", "D-2")
    unit = token(Role.UNIT_HANDLER, unit="U-1")
    division = token(Role.DIVISION_SUPERVISOR, division="D-2")
    assert (await client.get(f"/api/v1/tickets/{mine}", headers=unit)).status_code == 200
    assert (await client.get(f"/api/v1/tickets/{theirs}", headers=unit)).status_code == 404
    assert (await client.get(f"/api/v1/tickets/{theirs}", headers=division)).status_code == 200
    assert (await client.get(f"/api/v1/tickets/{mine}", headers=division)).status_code == 404
    elsewhere = token(Role.CENTER_SUPERVISOR, branch="default")
    assert (await client.get(f"/api/v1/tickets/{mine}", headers=elsewhere)).status_code == 404
    listed = (await client.get("/api/v1/tickets", headers=unit)).json()["tickets"]
    assert [t["ticket_id"] for t in listed] == [mine]
    everything = (await client.get("/api/v1/tickets", headers=AGENT)).json()["tickets"]
    assert {t["ticket_id"] for t in everything} == {mine, theirs}
    assert (await client.get(f"/api/v1/tickets/{uuid.uuid4()}", headers=AGENT)).status_code == 404


async def test_the_view_follows_dispatch(client: httpx.AsyncClient, intake: Intake) -> None:
    ticket_id = (await client.post("/api/v1/tickets", json=repair(), headers=AGENT)).json()["ticket_id"]
    await dispatch(intake, ticket_id, "U-1", "D-1")
    view = (await client.get(f"/api/v1/tickets/{ticket_id}", headers=AGENT)).json()
    assert view["status"] == "dispatched" and view["unit_id"] == "U-1"
    clocks = {c["clock"]: c for c in view["clocks"]}
    assert clocks["dispatch"]["state"] == "met"
    assert clocks["contact"]["state"] == "running" and clocks["resolve"]["state"] == "running"
    assert [h["type"] for h in view["history"]] == ["TicketReceived", "TicketDispatched"]
    # searching: by phone, status, unit, category
    for query in ("phone=13800138000", "status=dispatched", "unit=U-1", "category=repair", "breached=false"):
        found = (await client.get(f"/api/v1/tickets?{query}", headers=AGENT)).json()["tickets"]
        assert [t["ticket_id"] for t in found] == [ticket_id], query
    assert (await client.get("/api/v1/tickets?status=closed", headers=AGENT)).json()["tickets"] == []
