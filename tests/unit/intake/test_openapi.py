"""Issue 14 #13: intake's document lists its error answers; `?until=0.5` and `key_customer: 0` are refused."""

from __future__ import annotations

import httpx

from services.intake.bootstrap import Intake
from shared.auth import Role
from tests.unit.http.openapi_checks import undocumented_answers
from tests.unit.intake.conftest import AGENT, fields_of, repair, token


async def test_every_operation_documents_its_error_answers(client: httpx.AsyncClient, intake: Intake) -> None:
    document = (await client.get("/openapi.json")).json()
    assert undocumented_answers(document) == []
    assert "423" in document["paths"]["/api/v1/customers/{customer_id}/account-query"]["post"]["responses"]


async def test_numbers_for_instants_and_booleans_are_refused(client: httpx.AsyncClient, intake: Intake) -> None:
    supervisor = token(Role.CENTER_SUPERVISOR)
    stats = await client.get("/api/v1/calls/stats", params={"until": "0.5"}, headers=supervisor)
    assert stats.status_code == 422 and fields_of(stats) == {"query.until"}
    audit = await client.get("/api/v1/audit", params={"since": "1700000000"}, headers=token(Role.AUDITOR))
    assert audit.status_code == 422 and fields_of(audit) == {"query.since"}
    fine = await client.get("/api/v1/calls/stats", params={"until": "2026-11-27T10:00:00+08:00"}, headers=supervisor)
    assert fine.status_code == 200
    body = repair(customer={**repair()["customer"], "key_customer": 0})
    created = await client.post("/api/v1/tickets", json=body, headers=AGENT)
    assert created.status_code == 422 and fields_of(created) == {"body.customer.key_customer"}
