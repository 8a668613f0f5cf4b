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


async def test_org_names_are_not_masked_like_personal_names(world: World) -> None:
    # RULES.md §6 protects callers' names; a unit's name is what agents pick it by
    put = await world.client.put(
        "/api/v1/admin/org/units/UNIT-N1", headers=ADMIN, json={"name": "青秀区燃气运维站", "division_id": "DIV-NORTH"}
    )
    assert put.status_code == 200, put.text
    org = (await world.client.get("/api/v1/org", headers=AGENT)).json()
    names = {u["unit_id"]: u["name"] for d in org["divisions"] for u in d["units"]}
    assert names["UNIT-N1"] == "青秀区燃气运维站"
    assert {u["name"] for d in put.json()["divisions"] for u in d["units"] if u["unit_id"] == "UNIT-N1"} == {
        "青秀区燃气运维站"
    }


def test_the_action_routes_admit_exactly_the_roles_allowed_actions_offers(world: World) -> None:
    from services.dispatch.lifecycle import ACTION_ROLES, Action
    from shared.auth.deps import iter_http_routes

    routes = {
        Action.ACCEPT: "/accept",
        Action.CONTACT: "/contact",
        Action.RETURN: "/return",
        Action.REQUEST_EXTENSION: "/extensions",
        Action.REPLY: "/reply",
        Action.DISPATCH: "/dispatch",
        Action.APPROVE: "/review",
        Action.REJECT: "/review",
        Action.REFUSE_RETURN: "/refuse-return",
        Action.CLOSE: "/close",
        Action.DECIDE_EXTENSION: "/extensions/{request_id}/decision",
        Action.FLAG: "/flags",
    }
    assert set(routes) == set(ACTION_ROLES)
    posts = {r.path: r.access for r in iter_http_routes(world.app) if "POST" in r.methods}
    for action, tail in routes.items():
        access = posts[f"/api/v1/tickets/{{ticket_id}}{tail}"]
        assert access is not None and access.roles == ACTION_ROLES[action], action
