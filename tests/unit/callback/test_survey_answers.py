"""Issue 18: the branch's survey questions answered at the callback, carried by CallbackCompleted, checked first."""

from __future__ import annotations

import pytest

from shared.events import CallbackCompleted
from shared.policy.categories import Category
from tests.unit.callback.world import World, at

pytestmark = pytest.mark.unit

SURVEY = {"outcome": "reached", "problem_solved": True, "satisfaction": 4}
DEMO = "demo"  # shared/config/branches/demo.toml asks "attitude" (1-5) always, "on_time_visit" (yes/no) for repairs


async def _callback(world: World, category: Category = Category.REPAIR) -> tuple[str, str]:
    ticket = await world.ticket(at("2026-11-25 09:30"), branch=DEMO, category=category)
    rounds = await world.client.get(
        "/api/v1/callbacks", headers=world.headers(branch=DEMO), params={"ticket_id": ticket}
    )
    return ticket, rounds.json()[-1]["callback_id"]


async def test_the_answers_go_out_with_callback_completed(world: World) -> None:
    ticket, callback_id = await _callback(world)
    headers = world.headers(branch=DEMO)
    assert (await world.client.post(f"/api/v1/callbacks/{callback_id}/claim", headers=headers)).status_code == 200
    body = {**SURVEY, "answers": {"attitude": 5, "on_time_visit": 0}}
    done = await world.client.post(f"/api/v1/callbacks/{callback_id}/outcome", headers=headers, json=body)
    assert done.status_code == 200, done.text
    completed = [e.payload for e in await world.emitted(ticket) if isinstance(e.payload, CallbackCompleted)]
    assert [c.answers for c in completed] == [{"attitude": 5, "on_time_visit": 0}]


@pytest.mark.parametrize(
    ("category", "answers", "field"),
    [
        (Category.REPAIR, {"attitude": 6}, "body.answers.attitude"),
        (Category.REPAIR, {"on_time_visit": 2}, "body.answers.on_time_visit"),
        (Category.ALARM, {"on_time_visit": 1}, "body.answers.on_time_visit"),  # asked of repairs only
        (Category.REPAIR, {"colour": 3}, "body.answers.colour"),
    ],
)
async def test_an_answer_the_survey_cannot_take_is_refused_and_nothing_recorded(
    world: World, category: Category, answers: dict[str, int], field: str
) -> None:
    ticket, callback_id = await _callback(world, category)
    headers = world.headers(branch=DEMO)
    assert (await world.client.post(f"/api/v1/callbacks/{callback_id}/claim", headers=headers)).status_code == 200
    body = {**SURVEY, "answers": answers}
    refused = await world.client.post(f"/api/v1/callbacks/{callback_id}/outcome", headers=headers, json=body)
    assert refused.status_code == 422, refused.text
    assert [f["field"] for f in refused.json()["error"]["fields"]] == [field]
    assert await world.types(ticket) == ["CallbackScheduled"]


async def test_answers_without_a_reached_survey_are_refused(world: World) -> None:
    ticket, callback_id = await _callback(world)
    headers = world.headers(branch=DEMO)
    assert (await world.client.post(f"/api/v1/callbacks/{callback_id}/claim", headers=headers)).status_code == 200
    body = {"outcome": "no_answer", "answers": {"attitude": 3}}
    refused = await world.client.post(f"/api/v1/callbacks/{callback_id}/outcome", headers=headers, json=body)
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"][0]["field"].startswith("body.")
    assert await world.types(ticket) == ["CallbackScheduled"]
