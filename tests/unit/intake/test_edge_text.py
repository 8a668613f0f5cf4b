"""Issue 14 #3, #9: control characters refused at the edge with the field named; bodies bounded."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from services.intake.bootstrap import Intake
from shared.auth import Role
from tests.unit.intake.conftest import AGENT, complaint, fields_of, repair, token

NUL = "\u0000"


def _with(body: dict[str, Any], path: str, value: str) -> dict[str, Any]:
    copy = json.loads(json.dumps(body))
    *parents, last = path.split(".")
    target = copy
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value
    return copy


@pytest.mark.parametrize(
    "path",
    [
        "description",
        "customer.name",
        "customer.address",
        "customer.customer_id",
        "customer.account_number",
        "call_id",
        "unit_id",
        "location.district",
        "location.community",
        "location.city",
    ],
)
async def test_a_nul_in_any_ticket_field_is_a_422_naming_it(
    client: httpx.AsyncClient, intake: Intake, path: str
) -> None:
    response = await client.post("/api/v1/tickets", json=_with(repair(), path, f"x{NUL}y"), headers=AGENT)
    assert response.status_code == 422, response.text
    assert fields_of(response) == {f"body.{path}"}
    # nothing half-written, and the next request is served
    assert (await client.post("/api/v1/tickets", json=repair(), headers=AGENT)).status_code == 201


async def test_control_characters_in_complaints_alarms_12345_and_reveal_reasons(
    client: httpx.AsyncClient, intake: Intake
) -> None:
    bad = await client.post("/api/v1/tickets", json=_with(complaint(), "complaint.place", f"a{NUL}"), headers=AGENT)
    assert bad.status_code == 422 and fields_of(bad) == {"body.complaint.place"}
    alarm = {"address": "民族大道1号", "name": "张三", "phone": "13800138000", "scene": "气味\x07"}
    bad = await client.post("/api/v1/alarms", json=alarm, headers=AGENT)
    assert bad.status_code == 422 and fields_of(bad) == {"body.scene"}
    task = {"external_task_id": f"T{NUL}1", "ticket": repair()}
    integration = token(Role.INTEGRATION, subject="gov-gateway")
    bad = await client.post("/api/v1/gov12345/tasks", json=task, headers=integration)
    assert bad.status_code == 422 and fields_of(bad) == {"body.external_task_id"}
    ticket_id = (await client.post("/api/v1/tickets", json=repair(), headers=AGENT)).json()["ticket_id"]
    reveal = {"field": "phone", "reason": f"回访{NUL}"}
    bad = await client.post(f"/api/v1/tickets/{ticket_id}/reveal", json=reveal, headers=AGENT)
    assert bad.status_code == 422 and fields_of(bad) == {"body.reason"}


async def test_a_nul_in_a_path_segment_or_query_value_is_a_422_naming_it(
    client: httpx.AsyncClient, intake: Intake
) -> None:
    bad = await client.get("/api/v1/tickets/abc%00def", headers=AGENT)
    assert bad.status_code == 422 and fields_of(bad) == {"path.ticket_id"}
    bad = await client.get("/api/v1/tickets?unit=U%00-1", headers=AGENT)
    assert bad.status_code == 422 and fields_of(bad) == {"query.unit"}
    bad = await client.get("/api/v1/audit?ticket_id=%00", headers=token(Role.AUDITOR))
    assert bad.status_code == 422 and fields_of(bad) == {"query.ticket_id"}


async def test_fifty_thousand_unknown_keys_answer_small_and_never_reach_the_schema(
    client: httpx.AsyncClient, intake: Intake
) -> None:
    body = repair()
    body["customer"] = {**body["customer"], **{f"k{i:05d}": "v" for i in range(50_000)}}
    raw = json.dumps(body)
    assert len(raw) > 500_000
    response = await client.post("/api/v1/tickets", content=raw, headers={**AGENT, "Content-Type": "application/json"})
    assert response.status_code == 422
    assert len(response.content) < 2_000
    assert len(response.json()["error"]["fields"]) == 1


async def test_deep_nesting_is_refused(client: httpx.AsyncClient, intake: Intake) -> None:
    raw = '{"description": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = await client.post("/api/v1/tickets", content=raw, headers={**AGENT, "Content-Type": "application/json"})
    assert response.status_code == 422
    assert "nested deeper" in response.text


async def test_a_body_with_many_errors_lists_only_the_first_ones(client: httpx.AsyncClient, intake: Intake) -> None:
    body = repair()
    body["customer"] = {**body["customer"], **{f"k{i:04d}": "v" for i in range(500)}}
    response = await client.post("/api/v1/tickets", json=body, headers=AGENT)
    assert response.status_code == 422
    assert len(response.json()["error"]["fields"]) == 50
    assert "of 500 errors" in response.json()["error"]["message"]
