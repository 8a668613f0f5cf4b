"""Stories: a work order points only at what exists, a bad alarm names its own field, and one call's requests are
split by the routing rules when the agent names no unit (issue 13, items 4 and 7)."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.harness import System
from tests.e2e.steps import QINGXIU, Hotline, customer, ok, ticket_body


def fields(response: object) -> list[str]:
    body = response.json()  # type: ignore[attr-defined]
    return [f["field"] for f in body["error"]["fields"]]


@pytest.mark.asyncio(loop_scope="session")
async def test_references_that_point_nowhere_are_refused_naming_the_field(system: System) -> None:
    desk = Hotline(system)
    nowhere = {
        "body.unit_id": ticket_body("repair", QINGXIU[0], unit_id="U-NOWHERE"),
        "body.parent_ticket_id": ticket_body("repair", QINGXIU[0], parent_ticket_id=str(uuid.uuid4())),
        "body.customer.customer_id": ticket_body(
            "repair", QINGXIU[0], customer={**customer(), "customer_id": f"C-{uuid.uuid4().hex[:8]}"}
        ),
    }
    for field, body in nowhere.items():
        response = await desk.agent.post("/api/v1/tickets", json=body)
        assert response.status_code == 422, (field, response.text)
        assert fields(response) == [field], response.text
        listed = ok(await desk.agent.get("/api/v1/tickets", params={"phone": body["customer"]["phone"]}))
        assert listed["tickets"] == []  # nothing half-written

    # what does exist is taken: the unit of the org tree, the parent ticket just made
    parent = await desk.create(ticket_body("repair", QINGXIU[0], unit_id=QINGXIU[1]))
    child = await desk.create(ticket_body("consultation", QINGXIU[0], parent_ticket_id=parent["ticket_id"]))
    assert child["ticket_id"] != parent["ticket_id"]

    # the alarm fast path answers with its own field names (body.phone, not body.customer.phone)
    alarm = {"address": "南宁市青秀区民族大道1号", "name": "张三", "phone": "12345", "scene": "闻到燃气味"}
    response = await desk.agent.post("/api/v1/alarms", json=alarm)
    assert response.status_code == 422 and fields(response) == ["body.phone"], response.text
    response = await desk.agent.post("/api/v1/alarms", json={**alarm, "phone": "13800001001", "unit_id": "U-NOWHERE"})
    assert response.status_code == 422 and fields(response) == ["body.unit_id"], response.text


@pytest.mark.asyncio(loop_scope="session")
async def test_an_unrouted_call_is_split_by_the_routing_rules_and_the_answer_says_so(system: System) -> None:
    desk = Hotline(system)
    district, area_unit, _ = QINGXIU
    body = {
        "customer": customer(district),
        "location": {"city": "南宁市", "district": district},
        "requests": [  # no unit named: RULES.md §1, §15(一)3 by the routing rules
            {"category": "consultation", "description": "缴费方式"},
            {"category": "service_request", "subtype": "installation", "description": "新房报装"},
            {"category": "repair", "description": "灶具打不着火"},
        ],
    }
    answer = ok(await desk.agent.post(f"/api/v1/calls/call-{uuid.uuid4().hex[:8]}/requests", json=body), 201)
    by_unit = {t["unit_id"]: t for t in answer["tickets"]}
    # the installation belongs to the works unit (rule install-works), the rest to the area's unit under its
    # highest-ranked category (repair over consultation)
    assert set(by_unit) == {area_unit, "U-INSTALL"}, answer
    assert by_unit[area_unit]["category"] == "repair" and by_unit["U-INSTALL"]["category"] == "service_request"
    placements = {p["request"]: p for p in answer["placements"]}
    assert [placements[i]["unit_from"] for i in range(3)] == ["routing_rules"] * 3
    assert placements[1]["rule_id"] == "install-works" and placements[2]["rule_id"] == "area-qingxiu"
    assert placements[0]["ticket_id"] == placements[2]["ticket_id"] != placements[1]["ticket_id"]
    assert "install-works" in answer["summary"] and "U-INSTALL" in answer["summary"]

    for unit, ticket in by_unit.items():  # and dispatch sends each to the unit the answer named
        dispatched = await desk.dispatched(ticket["ticket_id"], unit)
        assert dispatched.unit_id == unit
