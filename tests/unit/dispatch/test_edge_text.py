"""Issue 14 #3: control characters in dispatch's bodies, paths and queries are a 422 naming the field."""

from __future__ import annotations

from tests.unit.dispatch.world import ADMIN, CENTER, World, received


def _fields(response: object) -> set[str]:
    return {f["field"] for f in response.json()["error"]["fields"]}  # type: ignore[attr-defined]


async def test_a_nul_in_a_flag_note_a_unit_name_a_path_or_a_query_is_a_422(world: World) -> None:
    event = received()
    await world.feed(event)
    flag = await world.client.post(
        f"/api/v1/tickets/{event.ticket_id}/flags", headers=CENTER, json={"kind": "supervision", "note": "a\u0000b"}
    )
    assert flag.status_code == 422 and _fields(flag) == {"body.note"}
    unit = await world.client.put(
        "/api/v1/admin/org/units/UNIT-N1", headers=ADMIN, json={"name": "北区\u0000", "division_id": "DIV-NORTH"}
    )
    assert unit.status_code == 422 and _fields(unit) == {"body.name"}
    path = await world.client.get("/api/v1/tickets/x%00y", headers=CENTER)
    assert path.status_code == 422 and _fields(path) == {"path.ticket_id"}
    query = await world.client.get("/api/v1/tickets", params={"unit_id": "U\u0000"}, headers=CENTER)
    assert query.status_code == 422 and _fields(query) == {"query.unit_id"}
    assert (await world.client.get(f"/api/v1/tickets/{event.ticket_id}", headers=CENTER)).status_code == 200
