"""Story: a consultation the agent cannot answer goes to a unit; its answer is told to the customer (reply)."""

from __future__ import annotations

import pytest

from tests.e2e.harness import System
from tests.e2e.steps import QINGXIU, Hotline, ticket_body


@pytest.mark.asyncio(loop_scope="session")
async def test_a_consultation_is_answered_by_the_unit_and_replied_to_the_customer(system: System) -> None:
    desk = Hotline(system)
    district, unit, division = QINGXIU
    created = await desk.create(ticket_body("consultation", district, description="老小区能否改装壁挂炉"))
    ticket_id = created["ticket_id"]

    dispatched = await desk.dispatched(ticket_id, unit)
    assert dispatched.division_id == division and dispatched.mode == "automatic"
    # a consultation has no contact clock: the unit answers straight away (RULES.md §2)
    await desk.unit_works(unit, ticket_id, result="可以改装，需先预约安检", contact=False)
    await desk.center_approves(ticket_id)

    callback = await desk.callback(ticket_id)
    assert callback["kind"] == "reply"
    assert callback["reply_text"] == "可以改装，需先预约安检"
    done = await desk.call_back(callback["callback_id"], {"outcome": "reached", "comment": "已告知用户"})
    assert done["events"] == ["CallbackAttempted", "CallbackCompleted", "TicketClosed"]

    closed = await desk.closed(ticket_id, "callback_completed")
    assert closed.closed_by is not None
    view = await desk.view_when(ticket_id, "closed in the agent's view", lambda v: v["closed_at"] is not None)
    assert view["unit_id"] == unit
    assert [e.type for e in desk.events.of(ticket_id, "TicketReceived", "TicketDispatched", "TicketReplied")] == [
        "TicketReceived",
        "TicketDispatched",
        "TicketReplied",
    ]
