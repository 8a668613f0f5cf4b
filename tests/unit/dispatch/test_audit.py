"""Issue 14 #12: dispatch's audited reveals can be read by an auditor (GET /api/v1/audit)."""

from __future__ import annotations

from shared.auth import Role
from tests.unit.dispatch.world import HANDLER_N1, World, received, token


async def test_an_auditor_reads_the_reveals_of_dispatch_and_nobody_else_does(world: World) -> None:
    event = received()
    await world.feed(event)
    body = {"field": "phone", "reason": "call back"}
    revealed = await world.client.post(f"/api/v1/tickets/{event.ticket_id}/reveal", headers=HANDLER_N1, json=body)
    assert revealed.status_code == 200
    auditor = token(Role.AUDITOR, "auditor-1")
    page = await world.client.get("/api/v1/audit", headers=auditor)
    assert page.status_code == 200, page.text
    [record] = page.json()["records"]
    assert (record["subject"], record["field"], record["reason"], record["ticket_id"]) == (
        "handler-n1",
        "phone",
        "call back",
        event.ticket_id,
    )
    assert "13812345678" not in page.text
    assert (await world.client.get("/api/v1/audit", headers=HANDLER_N1)).status_code == 403
    elsewhere = token(Role.AUDITOR, "auditor-2", branch="demo")
    assert (await world.client.get("/api/v1/audit", headers=elsewhere)).json()["records"] == []
