"""Dispatch reloads its branch policies and calendar on the admin's call, like intake and callback (issue 22)."""

from __future__ import annotations

from tests.unit.dispatch.world import ADMIN, CENTER, World


async def test_the_admin_reloads_the_calendar_and_branch_files_dispatch_computes_with(world: World) -> None:
    policies = world.service.ctx.policies
    before = policies.calendar
    policies.branch("demo")  # cached until a reload
    response = await world.client.post("/api/v1/policies/reload", headers=ADMIN)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "reloaded" and 2026 in body["calendar_years"]
    assert policies.calendar is not before  # read again: a year file added since start is now used


async def test_only_an_admin_may_reload(world: World) -> None:
    response = await world.client.post("/api/v1/policies/reload", headers=CENTER)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
