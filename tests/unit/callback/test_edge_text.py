"""Issue 14 #3: control characters in callback's bodies and queries are a 422 naming the field."""

from __future__ import annotations

from tests.unit.callback.world import World, at


async def test_a_nul_in_a_reveal_reason_or_a_query_is_a_422(world: World) -> None:
    ticket = await world.ticket(at("2026-11-25 09:30"))
    callback_id = (await world.callback_of(ticket))["callback_id"]
    assert (await world.claim(callback_id)).status_code == 200
    reveal = await world.client.post(
        f"/api/v1/callbacks/{callback_id}/reveal",
        headers=world.headers(),
        json={"field": "phone", "reason": "回访\u0000"},
    )
    assert reveal.status_code == 422
    assert {f["field"] for f in reveal.json()["error"]["fields"]} == {"body.reason"}
    query = await world.client.get("/api/v1/callbacks", headers=world.headers(), params={"ticket_id": "\u0000"})
    assert query.status_code == 422
    assert {f["field"] for f in query.json()["error"]["fields"]} == {"query.ticket_id"}
