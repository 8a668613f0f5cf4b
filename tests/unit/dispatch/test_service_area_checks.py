"""The admin API refuses, with the reason, a service area that overlaps another unit's and a rule to nowhere."""

from __future__ import annotations

from tests.unit.dispatch.world import ADMIN, World


async def test_a_district_another_unit_serves_is_refused_with_the_rule_it_overlaps(world: World) -> None:
    put = await world.client.put(
        "/api/v1/admin/org/rules/area-north-1b", headers=ADMIN, json={"unit": "UNIT-N2", "districts": ["North-1"]}
    )
    assert put.status_code == 422, put.text
    (field,) = put.json()["error"]["fields"]
    assert field["field"] == "districts"
    assert "area-north-1" in field["message"] and "UNIT-N1" in field["message"]
    org = (await world.client.get("/api/v1/org", headers=ADMIN)).json()
    assert all(r["id"] != "area-north-1b" for r in org["rules"])


async def test_the_same_unit_widens_its_area_and_a_free_district_is_taken(world: World) -> None:
    wider = await world.client.put(
        "/api/v1/admin/org/rules/area-north-1",
        headers=ADMIN,
        json={"unit": "UNIT-N1", "districts": ["North-1", "North-3"]},
    )
    assert wider.status_code == 200, wider.text
    free = await world.client.put(
        "/api/v1/admin/org/rules/area-east", headers=ADMIN, json={"unit": "UNIT-N2", "districts": ["East"]}
    )
    assert free.status_code == 200, free.text


async def test_a_rule_to_an_inactive_unit_routes_nowhere_and_is_refused(world: World) -> None:
    off = await world.client.put(
        "/api/v1/admin/org/units/UNIT-N2",
        headers=ADMIN,
        json={"name": "North station 2", "division_id": "DIV-NORTH", "active": False},
    )
    assert off.status_code == 200, off.text
    put = await world.client.put(
        "/api/v1/admin/org/rules/area-east", headers=ADMIN, json={"unit": "UNIT-N2", "districts": ["East"]}
    )
    assert put.status_code == 422, put.text
    assert "route nowhere" in put.json()["error"]["fields"][0]["message"]
