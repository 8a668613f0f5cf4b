"""Stories: a repair contacted within 2 h, replied, surveyed, closed; a service request refused with an explanation."""

from __future__ import annotations

from datetime import datetime

import pytest

from shared.branch_config import load_branch, load_calendar
from shared.policy import Category, SlaClock
from shared.policy.deadlines import deadline_for
from tests.e2e.harness import System
from tests.e2e.steps import XINGNING, XIXIANGTANG, Hotline, ticket_body

SURVEY = {"outcome": "reached", "problem_solved": True, "satisfaction": 4}


@pytest.mark.asyncio(loop_scope="session")
async def test_a_repair_is_contacted_within_two_hours_replied_surveyed_and_closed(system: System) -> None:
    desk = Hotline(system)
    district, unit, _ = XINGNING
    ticket_id = (await desk.create(ticket_body("repair", district, description="燃气表不走字")))["ticket_id"]
    await desk.dispatched(ticket_id, unit)

    await desk.unit_action(unit, ticket_id, "accept")
    contacted = await desk.unit_action(unit, ticket_id, "contact", {"method": "phone", "note": "约下午上门"})
    [contact_clock] = [c for c in contacted["clocks"] if c["clock"] == "contact"]
    assert contact_clock["running"] is False and contact_clock["overdue"] is False
    # RULES.md §2: the contact limit of a repair is 2 h from dispatch
    started = datetime.fromisoformat(contact_clock["started_at"])
    assert (datetime.fromisoformat(contact_clock["deadline"]) - started).total_seconds() == 2 * 3600

    async def contact_stopped_in_time() -> bool:
        contact = await desk.timer(ticket_id, "contact")
        assert contact["running"] is False and contact["breached"] is False, contact
        return True

    await system.eventually(contact_stopped_in_time, what="the SLA monitor stops the contact clock unbreached")

    await desk.unit_action(unit, ticket_id, "reply", {"result": "更换燃气表，已恢复计量"})
    await desk.center_approves(ticket_id)
    callback = await desk.callback(ticket_id)
    assert callback["kind"] == "survey"
    await desk.call_back(callback["callback_id"], SURVEY)
    await desk.closed(ticket_id, "callback_completed")
    assert "SlaBreached" not in desk.events.types(ticket_id)


@pytest.mark.asyncio(loop_scope="session")
async def test_a_service_request_is_refused_with_an_explanation(system: System) -> None:
    desk = Hotline(system)
    district, unit, _ = XIXIANGTANG
    body = ticket_body("service_request", district, subtype="safety_inspection", description="申请入户安检")
    ticket_id = (await desk.create(body))["ticket_id"]
    dispatched = await desk.dispatched(ticket_id, unit)
    assert dispatched.subtype == "safety_inspection"
    dispatched_event = await desk.events.wait_for(ticket_id, "TicketDispatched")

    explanation = "该地址为非居民用户，入户安检须由用户单位另行委托，已向用户说明办理途径"
    await desk.unit_action(unit, ticket_id, "accept")
    await desk.unit_action(unit, ticket_id, "contact", {"method": "phone", "note": "已电话联系用户"})
    reply = {"result": "不予受理", "opinion": explanation, "refused": True}
    await desk.unit_action(unit, ticket_id, "reply", reply)
    replied = await desk.events.wait_for(ticket_id, "TicketReplied")
    assert replied.payload.result == "不予受理" and replied.payload.opinion == explanation
    assert replied.payload.refused is True

    # RULES.md §2: a refusal is explained and fed back within 2 wd of the dispatch, not the 7 wd of a request done
    refusal_limit = deadline_for(
        Category.SERVICE_REQUEST,
        SlaClock.RESOLVE,
        dispatched_event.occurred_at,
        load_branch("demo"),
        load_calendar(),
        refused=True,
    ).at

    async def judged_on_the_refusal_limit() -> bool:
        resolve = await desk.timer(ticket_id, "resolve")
        assert datetime.fromisoformat(resolve["deadline"]) == refusal_limit, resolve
        assert not resolve["running"] and not resolve["breached"], resolve
        return True

    await system.eventually(judged_on_the_refusal_limit, what="the resolve clock on the 2 wd refusal limit")
    await desk.center_approves(ticket_id)

    # the explanation goes back to the customer on the survey callback (RULES.md §2: explained and fed back)
    callback = await desk.callback(ticket_id)
    assert "不予受理" in callback["reply_text"]
    await desk.call_back(callback["callback_id"], {**SURVEY, "problem_solved": False, "satisfaction": 3})
    await desk.closed(ticket_id, "callback_completed")
