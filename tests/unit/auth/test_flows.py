"""Reveal and identity-verification flows, lockout, and the audit records they leave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from shared.auth import AppendOnlyError, Role
from shared.auth.verification import (
    Attempt,
    CustomerIdentity,
    IdentityAnswers,
    VerificationPolicy,
    check_answers,
    locked_until,
)
from shared.privacy import PersonalField
from tests.unit.auth.demo import NOW, DemoAudit, bearer, token

pytestmark = pytest.mark.unit

OWNER = bearer(token(Role.AGENT, subject="agent-1"))
AUDITOR = bearer(token(Role.AUDITOR, subject="auditor-zhou"))
RIGHT = {
    "name": "张小明",
    "id_number": "45010219900101123x",
    "address": "南宁市青秀区民族大道100号",
    "phone": "+86 138-1234-5678",
}
WRONG = {**RIGHT, "phone": "13900000000"}


async def _audit(client: httpx.AsyncClient, query: str = "") -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/audit{query}", headers=AUDITOR)
    assert response.status_code == 200, response.text
    records: list[dict[str, Any]] = response.json()["records"]
    return records


async def test_reveal_returns_the_value_and_audits_who_when_which_why(
    client: httpx.AsyncClient,
) -> None:
    body = {"field": "id_number", "reason": "customer asks to confirm the contract holder"}
    response = await client.post("/api/v1/tickets/T1/reveal", json=body, headers=OWNER)
    assert response.status_code == 200
    assert response.json()["value"] == "45010219900101123X"
    [record] = await _audit(client, "?action=reveal")
    assert record["subject"] == "agent-1" and record["role"] == "agent"
    assert record["ticket_id"] == "T1" and record["field"] == "id_number"
    assert record["reason"] == body["reason"]
    # the same instant, on the branch's wall clock (issue 13 item 5)
    assert datetime.fromisoformat(record["at"]) == NOW and record["at"].endswith("+08:00")
    assert record["token_id"] and record["id"] == response.json()["audit_id"]


async def test_the_dispatched_unit_may_reveal(client: httpx.AsyncClient) -> None:
    headers = bearer(token(Role.UNIT_HANDLER, unit="u1", subject="wang"))
    body = {"field": "address", "reason": "on the way to the leak"}
    response = await client.post("/api/v1/tickets/T1/reveal", json=body, headers=headers)
    assert response.status_code == 200
    assert response.json()["value"].endswith("100号3栋")


@pytest.mark.parametrize("body", [{"field": "phone"}, {"field": "phone", "reason": "  "}])
async def test_reveal_without_a_reason_is_422_and_not_audited(client: httpx.AsyncClient, body: dict[str, str]) -> None:
    response = await client.post("/api/v1/tickets/T1/reveal", json=body, headers=OWNER)
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "body.reason"
    assert await _audit(client, "?action=reveal") == []


async def test_ticket_reads_are_masked(client: httpx.AsyncClient) -> None:
    ticket = (await client.get("/api/v1/tickets/T1", headers=OWNER)).json()
    assert ticket["caller_name"] == "张*明"
    assert ticket["caller_phone"] == "138****5678"
    assert ticket["id_number"] == "**************123X"
    assert ticket["address"] == "广西壮族自治区南宁市青秀区***"


async def test_verification_passes_then_returns_account_data(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/customers/C1/verify", json=RIGHT, headers=OWNER)
    assert response.status_code == 200
    assert response.json() == {"customer_id": "C1", "name": "张*明", "balance_cents": 12345}
    [record] = await _audit(client)
    assert (record["action"], record["customer_id"]) == ("verification_passed", "C1")


async def test_missing_answers_are_422_and_not_counted(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/customers/C1/verify", json={"name": "张小明"}, headers=OWNER)
    assert response.status_code == 422
    fields = {f["field"] for f in response.json()["error"]["fields"]}
    assert fields == {"body.id_number", "body.address", "body.phone"}
    assert await _audit(client) == []


async def test_three_failures_lock_the_customer_with_retry_after(app: Any, client: httpx.AsyncClient) -> None:
    clock = {"now": NOW}
    app.state.clock = lambda: clock["now"]
    statuses = []
    for _ in range(3):
        response = await client.post("/api/v1/customers/C1/verify", json=WRONG, headers=OWNER)
        statuses.append(response.status_code)
        clock["now"] += timedelta(minutes=1)
    assert statuses == [403, 403, 423]
    assert response.json()["error"]["code"] == "verification_locked"
    # even the right answers are refused while locked, and the refusal is audited
    response = await client.post("/api/v1/customers/C1/verify", json=RIGHT, headers=OWNER)
    assert response.status_code == 423
    assert int(response.headers["Retry-After"]) == 14 * 60
    actions = [r["action"] for r in await _audit(client)]
    assert actions == ["verification_locked", *["verification_failed"] * 3]
    # after the lockout the right answers pass again
    clock["now"] = NOW + timedelta(minutes=2, seconds=1) + timedelta(minutes=15)
    response = await client.post("/api/v1/customers/C1/verify", json=RIGHT, headers=OWNER)
    assert response.status_code == 200


async def test_audit_query_filters_and_is_branch_scoped(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/customers/C1/verify", json=RIGHT, headers=OWNER)
    reveal = {"field": "phone", "reason": "call back the customer"}
    await client.post("/api/v1/tickets/T1/reveal", json=reveal, headers=OWNER)
    assert len(await _audit(client)) == 2
    assert [r["action"] for r in await _audit(client, "?ticket_id=T1")] == ["reveal"]
    assert len(await _audit(client, "?subject=agent-1")) == 2
    assert await _audit(client, "?subject=nobody") == []
    later = (NOW + timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    assert await _audit(client, f"?since={later}") == []
    other = bearer(token(Role.AUDITOR, branch="gz"))
    assert (await client.get("/api/v1/audit", headers=other)).json()["records"] == []
    assert (await client.get("/api/v1/audit?branch=nn", headers=other)).status_code == 403


async def test_the_audit_api_has_no_write_path(app: Any, client: httpx.AsyncClient) -> None:
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = await client.request(method, "/api/v1/audit", headers=AUDITOR, json={})
        assert response.status_code == 405, method


async def test_audit_rows_cannot_be_updated_or_deleted(app: Any, client: httpx.AsyncClient) -> None:
    reveal = {"field": "phone", "reason": "call back the customer"}
    await client.post("/api/v1/tickets/T1/reveal", json=reveal, headers=OWNER)
    async with app.state.sessionmaker() as session:
        row = (await session.scalars(select(DemoAudit))).one()
        row.reason = "nothing to see"
        with pytest.raises(AppendOnlyError):
            await session.flush()
        await session.rollback()
        row = (await session.scalars(select(DemoAudit))).one()
        await session.delete(row)
        with pytest.raises(AppendOnlyError):
            await session.flush()
    # bulk UPDATE/DELETE statements bypass mapper events: production databases must also
    # grant the service role INSERT and SELECT only on its audit table


# --- the pure rules -------------------------------------------------------------------------

RECORD = CustomerIdentity(
    name="张小明",
    id_number="45010219900101123X",
    address="南宁市青秀区民族大道100号",
    phone="13812345678",
)


@pytest.mark.parametrize(
    ("answers", "mismatched"),
    [
        (RIGHT, set()),
        ({**RIGHT, "name": " 张 小明 "}, set()),
        ({**RIGHT, "phone": "１３８１２３４５６７８"}, set()),
        ({**RIGHT, "id_number": "450102199001011230"}, {PersonalField.ID_NUMBER}),
        ({**RIGHT, "address": "南宁市青秀区民族大道101号"}, {PersonalField.ADDRESS}),
    ],
)
def test_answers_are_compared_normalised(answers: dict[str, str], mismatched: set[Any]) -> None:
    check = check_answers(VerificationPolicy(), RECORD, IdentityAnswers(**answers))
    assert check.mismatched == mismatched and not check.missing


def test_a_branch_may_require_fewer_answers() -> None:
    policy = VerificationPolicy(required=frozenset({PersonalField.NAME, PersonalField.PHONE}))
    check = check_answers(policy, RECORD, IdentityAnswers(name="张小明", phone="13812345678"))
    assert check.passed


def test_a_record_without_the_value_never_matches() -> None:
    check = check_answers(VerificationPolicy(), CustomerIdentity(name="张小明"), IdentityAnswers(**RIGHT))
    assert check.mismatched == {PersonalField.ID_NUMBER, PersonalField.ADDRESS, PersonalField.PHONE}


T0 = datetime(2025, 1, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("offsets", "now", "locked"),
    [
        ([0, 1, 2], 3, 17),  # three failures in 15 min: locked 15 min from the last
        ([0, 1], 3, None),  # two are not enough
        ([0, 10, 20], 21, None),  # spread wider than the window
        ([0, 1, 2], 18, None),  # lock over
        ([0, 1, "ok", 2], 3, None),  # a success resets the count
    ],
)
def test_lockout_rule(offsets: list[Any], now: int, locked: int | None) -> None:
    attempts = []
    minute = 0
    for item in offsets:
        if item == "ok":
            attempts.append(Attempt(T0 + timedelta(minutes=minute, seconds=30), True))
        else:
            minute = item
            attempts.append(Attempt(T0 + timedelta(minutes=item), False))
    until = locked_until(attempts, VerificationPolicy(), T0 + timedelta(minutes=now))
    assert until == (None if locked is None else T0 + timedelta(minutes=locked))
