"""Stories: a report, an opinion and a suggestion are dispatched, replied and called back; praise owes no callback."""

from __future__ import annotations

import pytest

from tests.e2e.harness import System
from tests.e2e.steps import XIXIANGTANG, Hotline, ticket_body

# RULES.md §2: report and opinion end with a survey, a suggestion with a reply, praise with none
CALLBACK_KIND = {"report": "survey", "opinion": "survey", "suggestion": "reply"}


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("category", ["report", "opinion", "suggestion"])
async def test_the_unit_replies_and_the_customer_is_called_back(system: System, category: str) -> None:
    desk = Hotline(system)
    district, unit, _ = XIXIANGTANG
    ticket_id = (await desk.create(ticket_body(category, district)))["ticket_id"]
    await desk.dispatched(ticket_id, unit)
    await desk.unit_works(unit, ticket_id, result=f"{category}: 已核实并处理", contact=False)
    await desk.center_approves(ticket_id)

    callback = await desk.callback(ticket_id)
    assert callback["kind"] == CALLBACK_KIND[category]
    outcome: dict[str, object] = {"outcome": "reached"}
    if callback["kind"] == "survey":
        outcome |= {"problem_solved": True, "satisfaction": 4}
    await desk.call_back(callback["callback_id"], outcome)
    await desk.closed(ticket_id, "callback_completed")


@pytest.mark.asyncio(loop_scope="session")
async def test_praise_is_verified_by_the_unit_and_closed_with_no_callback_owed(system: System) -> None:
    desk = Hotline(system)
    district, unit, _ = XIXIANGTANG
    body = ticket_body("praise", district, description="表扬维修师傅服务热情")
    ticket_id = (await desk.create(body))["ticket_id"]
    await desk.dispatched(ticket_id, unit)
    await desk.unit_works(unit, ticket_id, result="经核实属实，已通报表扬", contact=False)
    await desk.center_approves(ticket_id)

    closed = await desk.closed(ticket_id, "no_callback_owed")
    assert closed.reason == "no_callback_owed"
    assert "CallbackScheduled" not in desk.events.types(ticket_id)
    await desk.view_when(ticket_id, "praise closed", lambda v: v["closed_at"] is not None)
