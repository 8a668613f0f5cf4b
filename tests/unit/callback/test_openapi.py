"""Issue 14 #13: callback's document lists its error answers; a number for a boolean is refused."""

from __future__ import annotations

from tests.unit.callback.world import World, at
from tests.unit.http.openapi_checks import undocumented_answers


async def test_the_document_lists_the_error_answers_and_problem_solved_must_be_a_boolean(world: World) -> None:
    assert undocumented_answers((await world.client.get("/openapi.json")).json()) == []
    ticket = await world.ticket(at("2026-11-25 09:30"))
    callback_id = (await world.callback_of(ticket))["callback_id"]
    assert (await world.claim(callback_id)).status_code == 200
    answer = await world.outcome(callback_id, {"outcome": "reached", "problem_solved": 1, "satisfaction": 5})
    assert answer.status_code == 422
    assert {f["field"] for f in answer.json()["error"]["fields"]} == {"body.problem_solved"}
