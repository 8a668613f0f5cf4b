"""Issue 14 #6: a credential of a branch that is not configured gets one answer on every route."""

from __future__ import annotations

from shared.auth import Role
from tests.unit.dispatch.world import World, token


async def test_every_dispatch_route_answers_404_unknown_branch(world: World) -> None:
    center = token(Role.CENTER_SUPERVISOR, "supervisor-x", branch="nowhere")
    answers = [
        await world.client.get("/api/v1/tickets", headers=center),
        await world.client.get("/api/v1/center/queue", headers=center),
        await world.client.get("/api/v1/org", headers=center),
        await world.client.get("/api/v1/tickets/x", headers=center),
    ]
    for answer in answers:
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "unknown_branch", answer.text
