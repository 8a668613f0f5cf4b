"""Story: two branches side by side on one deployment; neither sees nor touches the other's tickets."""

from __future__ import annotations

import pytest

from shared.auth.roles import Role
from tests.e2e.harness import System
from tests.e2e.steps import XINGNING, Hotline, ok, ticket_body


@pytest.mark.asyncio(loop_scope="session")
async def test_the_demo_and_default_branches_never_see_each_others_tickets(system: System) -> None:
    demo, default = Hotline(system, "demo"), Hotline(system, "default")
    district, demo_unit, _ = XINGNING
    demo_ticket = (await demo.create(ticket_body("repair", district)))["ticket_id"]
    default_ticket = (await default.create(ticket_body("repair", "North-1")))["ticket_id"]

    # each is routed inside its own branch's org tree
    assert (await demo.dispatched(demo_ticket)).unit_id == demo_unit
    default_dispatch = await default.dispatched(default_ticket)
    assert default_dispatch.unit_id == "UNIT-N1" and default_dispatch.division_id == "DIV-NORTH"
    assert (await demo.events.wait_for(default_ticket, "TicketReceived")).branch == "default"

    for own, own_ticket, other_ticket in ((demo, demo_ticket, default_ticket), (default, default_ticket, demo_ticket)):
        # the agents' view and search
        await own.view_when(own_ticket, "its own ticket in the agent's view", lambda view: True)
        assert (await own.agent.get(f"/api/v1/tickets/{other_ticket}")).status_code in (403, 404)
        page = ok(await own.agent.get("/api/v1/tickets", params={"limit": 500}))
        seen = {row["ticket_id"] for row in page["tickets"]}
        assert own_ticket in seen and other_ticket not in seen
        assert {row["branch"] for row in page["tickets"]} == {own.branch}
        # the center's lists and actions
        center_rows = ok(await own.center.get("/api/v1/tickets", params={"limit": 500}))
        assert other_ticket not in {row["ticket_id"] for row in center_rows}
        assert (await own.center.get(f"/api/v1/tickets/{other_ticket}")).status_code in (403, 404)
        # the callback desk
        assert ok(await own.callbacks.get("/api/v1/callbacks", params={"ticket_id": other_ticket})) == []
        # the SLA monitor's timers
        sla = system.client("sla_monitor", Role.CENTER_SUPERVISOR, own.branch)
        assert (await sla.get(f"/api/v1/sla/tickets/{other_ticket}/timers")).status_code in (403, 404)

    # a unit of one branch cannot take the other's ticket, even by naming it
    stolen = await demo.unit(demo_unit).post(f"/api/v1/tickets/{default_ticket}/accept")
    assert stolen.status_code in (403, 404)
    await default.unit_action("UNIT-N1", default_ticket, "accept")
