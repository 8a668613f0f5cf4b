"""Stories of the callback desk (RULES.md §5): three failed attempts abandon and close; a mismatch reopens."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

import pytest

from tests.e2e.harness import System
from tests.e2e.steps import QINGXIU, Hotline, ticket_body


async def replied_consultation(desk: Hotline, result: str) -> tuple[str, str]:
    district, unit, _ = QINGXIU
    ticket_id = (await desk.create(ticket_body("consultation", district)))["ticket_id"]
    await desk.dispatched(ticket_id, unit)
    await desk.unit_works(unit, ticket_id, result=result, contact=False)
    await desk.center_approves(ticket_id)
    return ticket_id, unit


@pytest.mark.asyncio(loop_scope="session")
async def test_three_failed_attempts_abandon_the_callback_and_close_the_ticket_with_the_reason(
    system: System,
) -> None:
    desk = Hotline(system)
    ticket_id, _ = await replied_consultation(desk, "已按用户要求调整抄表日")
    callback_id = (await desk.callback(ticket_id))["callback_id"]
    # each retry waits 2 h on the fast clock (RULES.md §5)
    within = system.real_seconds(timedelta(hours=2)) + 60

    first = await desk.call_back(callback_id, {"outcome": "no_answer"}, within=within)
    assert first["events"] == ["CallbackAttempted", "CallbackScheduled"]
    second = await desk.call_back(callback_id, {"outcome": "busy"}, within=within)
    assert second["events"] == ["CallbackAttempted", "CallbackScheduled"]
    third = await desk.call_back(callback_id, {"outcome": "switched_off"}, within=within)
    assert third["events"] == ["CallbackAttempted", "CallbackAbandoned", "TicketClosed"]

    attempts = third["callback"]["attempts"]
    assert [a["outcome"] for a in attempts] == ["no_answer", "busy", "switched_off"]
    made = [datetime.fromisoformat(a["attempted_at"]) for a in attempts]
    assert all(later - earlier >= timedelta(hours=2) for earlier, later in pairwise(made))

    abandoned = await desk.events.wait_for(ticket_id, "CallbackAbandoned")
    assert abandoned.payload.attempts == 3 and abandoned.payload.reason_text
    closed = await desk.closed(ticket_id, "callback_abandoned")
    assert closed.reason_text
    await desk.view_when(ticket_id, "closed after abandoning", lambda v: v["closed_at"] is not None)


@pytest.mark.asyncio(loop_scope="session")
async def test_a_reply_that_does_not_match_the_facts_reopens_the_ticket_until_a_true_reply_closes_it(
    system: System,
) -> None:
    desk = Hotline(system)
    ticket_id, unit = await replied_consultation(desk, "已上门处理完毕")
    first = await desk.callback(ticket_id)
    mismatch = await desk.call_back(
        first["callback_id"], {"outcome": "reply_mismatch", "customer_account": "根本没有人上门，问题仍在"}
    )
    assert "TicketReopened" in mismatch["events"]
    reopened = await desk.events.wait_for(ticket_id, "TicketReopened")
    assert reopened.payload.unit_id == unit

    # back to the same unit, which replies again (dispatch: a new work round)
    await desk.unit_action(unit, ticket_id, "reply", {"result": "已重新上门，更换减压阀，用户确认"})
    replies = await desk.events.wait_for(ticket_id, "TicketReplied", lambda p: "减压阀" in p.result)
    assert replies.payload.unit_id == unit
    await desk.center_approves(ticket_id)

    second = await desk.callback(ticket_id, round_=2)
    assert "减压阀" in second["reply_text"]
    await desk.call_back(second["callback_id"], {"outcome": "reached"})
    await desk.closed(ticket_id, "callback_completed")
    assert desk.events.types(ticket_id).count("TicketClosed") == 1
