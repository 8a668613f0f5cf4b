"""Issue 14 #6: a credential of a branch that is not configured gets one answer on every route."""

from __future__ import annotations

from tests.unit.callback.world import World


async def test_every_callback_route_answers_404_unknown_branch_and_due_is_no_500(world: World) -> None:
    headers = world.headers(branch="nowhere")
    answers = [
        await world.client.get("/api/v1/callbacks/due", headers=headers),
        await world.client.get("/api/v1/callbacks", headers=headers, params={"ticket_id": "x"}),
        await world.client.post("/api/v1/callbacks/x/claim", headers=headers),
    ]
    for answer in answers:
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "unknown_branch", answer.text
