"""The org tree through the API: read by every role, edited by admins, and edits take effect on routing."""

from __future__ import annotations

from tests.unit.dispatch.world import ADMIN, AGENT, CENTER, HANDLER_N1, World, received


async def test_agents_read_the_tree_to_pick_a_unit(world: World) -> None:
    org = (await world.client.get("/api/v1/org", headers=AGENT)).json()
    assert org["center_id"] == "CENTER"
    assert {u["unit_id"] for d in org["divisions"] for u in d["units"]} == {
        "UNIT-N1",
        "UNIT-N2",
        "UNIT-S1",
        "UNIT-INSTALL",
    }


async def test_an_admin_rule_routes_the_next_ticket(world: World) -> None:
    preview = await world.client.post(
        "/api/v1/org/route-preview", headers=CENTER, json={"category": "repair", "district": "Harbour"}
    )
    assert preview.json()["routed"] is False
    put = await world.client.put(
        "/api/v1/admin/org/rules/area-harbour", headers=ADMIN, json={"unit": "UNIT-S1", "districts": ["Harbour"]}
    )
    assert put.status_code == 200, put.text
    preview = await world.client.post(
        "/api/v1/org/route-preview", headers=CENTER, json={"category": "repair", "district": "Harbour"}
    )
    assert preview.json()["unit_id"] == "UNIT-S1"
    await world.feed(received(district="Harbour"))
    [event] = await world.new_events()
    assert event.payload.rule_id == "area-harbour"  # type: ignore[attr-defined]
    deleted = await world.client.delete("/api/v1/admin/org/rules/area-harbour", headers=ADMIN)
    assert deleted.status_code == 200
    await world.feed(received(district="Harbour"))
    assert await world.types() == ["ManualDispatchQueued"]


async def test_bad_edits_are_refused_field_by_field(world: World) -> None:
    no_unit = await world.client.put(
        "/api/v1/admin/org/rules/r", headers=ADMIN, json={"unit": "UNIT-NOPE", "districts": ["x"]}
    )
    assert no_unit.status_code == 422 and no_unit.json()["error"]["fields"][0]["field"] == "rules.r.unit"
    catch_all = await world.client.put("/api/v1/admin/org/rules/r", headers=ADMIN, json={"unit": "UNIT-N1"})
    assert catch_all.status_code == 422
    bad_division = await world.client.put(
        "/api/v1/admin/org/units/UNIT-X", headers=ADMIN, json={"name": "x", "division_id": "DIV-NOPE"}
    )
    assert bad_division.status_code == 422 and bad_division.json()["error"]["fields"][0]["field"] == "division_id"
    org = (await world.client.get("/api/v1/org", headers=ADMIN)).json()
    assert all(r["id"] != "r" for r in org["rules"])


async def test_a_deactivated_unit_gets_no_more_tickets(world: World) -> None:
    response = await world.client.put(
        "/api/v1/admin/org/units/UNIT-N1",
        headers=ADMIN,
        json={"name": "North 1", "division_id": "DIV-NORTH", "active": False},
    )
    assert response.status_code == 200
    await world.feed(received(district="North-1"))
    assert await world.types() == ["ManualDispatchQueued"]
    assert (
        await world.client.put(
            "/api/v1/admin/org/units/UNIT-N1", headers=HANDLER_N1, json={"name": "x", "division_id": "DIV-NORTH"}
        )
    ).status_code == 403
