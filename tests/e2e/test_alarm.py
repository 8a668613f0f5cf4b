"""Story: a gas alarm: the named unit is phoned at once, the ticket back-filled, surveyed and closed (RULES.md §1)."""

from __future__ import annotations

import pytest

from tests.e2e.harness import System
from tests.e2e.steps import QINGXIU, Hotline, customer, ok

SURVEY = {"outcome": "reached", "problem_solved": True, "satisfaction": 5, "comment": "抢修及时"}


@pytest.mark.asyncio(loop_scope="session")
async def test_an_alarm_reaches_the_unit_at_once_then_is_back_filled_surveyed_and_closed(system: System) -> None:
    desk = Hotline(system)
    district, unit, division = QINGXIU
    caller = customer(district, name="钱报警")
    alarm = ok(
        await desk.agent.post(
            "/api/v1/alarms",
            json={
                "address": caller["address"],
                "name": caller["name"],
                "phone": caller["phone"],
                "scene": "厨房有浓烈燃气味，已关阀开窗",
                "unit_id": unit,
                "location": {"city": "南宁市", "district": district},
            },
        ),
        201,
    )
    assert alarm["urgent_notice_sent"] is True
    assert alarm["precautions"], "the agent reads the safety precautions to the caller"
    ticket_id = alarm["ticket"]["ticket_id"]

    # the unit's phone rings before anything else happens to the ticket (no timed assertion: order only)
    notice = await desk.events.wait_for(ticket_id, "UrgentNoticeRequested", lambda p: p.reason == "alarm")
    assert ("unit", unit) in [(r.org_level, r.org_id) for r in notice.payload.recipients]
    assert notice.payload.address == caller["address"]

    dispatched = await desk.dispatched(ticket_id, unit)
    assert dispatched.division_id == division
    # the agent already phoned the unit: dispatch does not ring it a second time
    alarm_notices = desk.events.of(ticket_id, "UrgentNoticeRequested")
    assert [n.payload.reason for n in alarm_notices].count("alarm") == 1

    await desk.unit_works(unit, ticket_id, result="到场检查，灶前阀漏气，已更换", contact=False)
    await desk.center_approves(ticket_id)
    callback = await desk.callback(ticket_id)
    assert callback["kind"] == "survey"
    outcome = await desk.call_back(callback["callback_id"], SURVEY)
    assert outcome["callback"]["satisfaction"] == 5

    await desk.closed(ticket_id, "callback_completed")
    view = await desk.view_when(ticket_id, "alarm closed", lambda v: v["closed_at"] is not None)
    assert view["category"] == "alarm" and view["hazardous"] is True
