"""A work order points only at what exists, and a call without units is split by the routing rules (issue 13).

Dispatch's org tree is a stand-in here (its API is exercised for real in tests/e2e/test_references_and_split.py);
what is tested is intake's own part: which fields it checks, the 422 it answers, nothing half-written, and how
the routing answers shape one call's tickets (RULES.md §1, §15(一)3)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.intake.bootstrap import Intake
from services.intake.references import Credentials, RouteAnswer, RouteQuery
from services.intake.store import Ticket
from tests.unit.intake.conftest import AGENT, auth, fields_of, repair

pytestmark = pytest.mark.unit


class OrgTree:
    """Dispatch's answers for the demo branch: its units, and a works unit for installations."""

    def __init__(self, reachable: bool = True) -> None:
        self.reachable = reachable
        self.asked: list[Credentials] = []

    async def unit_ids(self, branch: str, credentials: Credentials) -> frozenset[str] | None:
        self.asked.append(credentials)
        return frozenset({"U-QINGXIU", "U-INSTALL"}) if self.reachable else None

    async def route(self, query: RouteQuery, credentials: Credentials) -> RouteAnswer | None:
        if not self.reachable:
            return None
        if query.subtype == "installation":
            return RouteAnswer("U-INSTALL", "install-works", "category rule")
        if query.district == "青秀区":
            return RouteAnswer("U-QINGXIU", "area-qingxiu", "district rule")
        return RouteAnswer(None, None, "no rule matches")


async def client_for(intake: Intake, org: OrgTree) -> httpx.AsyncClient:
    intake.directory = org
    app = intake.api(auth=auth())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://i")


@pytest.fixture
async def org_client(intake: Intake) -> AsyncIterator[tuple[httpx.AsyncClient, OrgTree]]:
    org = OrgTree()
    async with await client_for(intake, org) as client:
        yield client, org


async def tickets(intake: Intake) -> int:
    async with intake.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Ticket)) or 0)


async def test_each_reference_that_points_nowhere_is_a_422_naming_it_and_nothing_is_written(
    org_client: tuple[httpx.AsyncClient, OrgTree], intake: Intake
) -> None:
    client, org = org_client
    bad: dict[str, dict[str, Any]] = {
        "body.unit_id": repair(unit_id="U-NOWHERE"),
        "body.parent_ticket_id": repair(parent_ticket_id="no-such-ticket"),
        "body.customer.customer_id": repair(customer={**repair()["customer"], "customer_id": "C-NOBODY"}),
    }
    for field, body in bad.items():
        response = await client.post("/api/v1/tickets", json=body, headers=AGENT)
        assert response.status_code == 422 and fields_of(response) == {field}, response.text
    assert await tickets(intake) == 0
    assert org.asked and org.asked[0]["Authorization"] == AGENT["Authorization"]  # asked as the caller

    parent = await client.post("/api/v1/tickets", json=repair(unit_id="U-QINGXIU"), headers=AGENT)
    assert parent.status_code == 201, parent.text
    child = await client.post(
        "/api/v1/tickets", json=repair(parent_ticket_id=parent.json()["ticket_id"]), headers=AGENT
    )
    assert child.status_code == 201, child.text


async def test_the_alarm_names_its_own_fields(org_client: tuple[httpx.AsyncClient, OrgTree]) -> None:
    client, _ = org_client
    alarm = {"address": "民族大道1号", "name": "张三", "phone": "12345", "scene": "闻到气味"}
    response = await client.post("/api/v1/alarms", json=alarm, headers=AGENT)
    assert response.status_code == 422 and fields_of(response) == {"body.phone"}, response.text
    unknown = {**alarm, "phone": "13800138000", "unit_id": "U-NOWHERE", "customer_id": "C-NOBODY"}
    response = await client.post("/api/v1/alarms", json=unknown, headers=AGENT)
    assert response.status_code == 422 and fields_of(response) == {"body.unit_id", "body.customer_id"}


async def test_a_call_without_units_is_split_by_the_routing_rules_and_says_so(
    org_client: tuple[httpx.AsyncClient, OrgTree],
) -> None:
    client, _ = org_client
    body = {
        "customer": {"name": "张三", "phone": "13800138000", "address": "民族大道100号"},
        "location": {"district": "青秀区"},
        "requests": [
            {"category": "consultation", "description": "缴费方式"},
            {"category": "service_request", "subtype": "installation", "description": "报装"},
            {"category": "repair", "description": "灶具打不着火"},
        ],
    }
    response = await client.post("/api/v1/calls/call-9/requests", json=body, headers=AGENT)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert [(t["unit_id"], t["category"]) for t in answer["tickets"]] == [
        ("U-QINGXIU", "repair"),
        ("U-INSTALL", "service_request"),
    ]
    assert [(p["request"], p["unit_from"], p["rule_id"]) for p in answer["placements"]] == [
        (0, "routing_rules", "area-qingxiu"),
        (1, "routing_rules", "install-works"),
        (2, "routing_rules", "area-qingxiu"),
    ]
    assert answer["summary"].startswith("2 ticket(s)") and "install-works" in answer["summary"]


async def test_with_dispatch_unreachable_the_call_still_goes_in_unrouted_for_the_center(intake: Intake) -> None:
    async with await client_for(intake, OrgTree(reachable=False)) as client:
        body = {
            "customer": {"name": "张三", "phone": "13800138000", "address": "民族大道100号"},
            "requests": [
                {"category": "repair", "description": "灶具打不着火"},
                {"category": "service_request", "subtype": "installation", "description": "报装"},
            ],
        }
        response = await client.post("/api/v1/calls/call-10/requests", json=body, headers=AGENT)
        assert response.status_code == 201, response.text
        answer = response.json()
        assert [t["unit_id"] for t in answer["tickets"]] == [None]
        assert {p["unit_from"] for p in answer["placements"]} == {"center"}
        named = await client.post("/api/v1/tickets", json=repair(unit_id="U-ANY"), headers=AGENT)
        assert named.status_code == 201  # a unit cannot be checked: dispatch queues what it does not know
