"""Issue 14 #6: a credential of a branch that is not configured gets one answer on every route."""

from __future__ import annotations

import httpx

from services.intake.bootstrap import Intake
from shared.auth import Role
from tests.unit.intake.conftest import repair, token

NOWHERE = token(Role.AGENT, branch="nowhere")


def _is_unknown_branch(response: httpx.Response) -> bool:
    return response.status_code == 404 and response.json()["error"]["code"] == "unknown_branch"


async def test_every_intake_route_answers_404_unknown_branch(client: httpx.AsyncClient, intake: Intake) -> None:
    answers = [
        await client.post("/api/v1/tickets", json=repair(), headers=NOWHERE),
        await client.get("/api/v1/tickets", headers=NOWHERE),
        await client.get("/api/v1/tickets/x", headers=NOWHERE),
        await client.get("/api/v1/customers/history", params={"phone": "13800138000"}, headers=NOWHERE),
        await client.post(
            "/api/v1/alarms", json={"address": "a", "name": "b", "phone": "13800138000"}, headers=NOWHERE
        ),
        await client.get("/api/v1/calls/stats", headers=token(Role.CENTER_SUPERVISOR, branch="nowhere")),
    ]
    assert all(_is_unknown_branch(a) for a in answers), [(a.status_code, a.text[:80]) for a in answers]
