"""The callback service through its API on SQLite: queue, claim, outcomes, the events it emits."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from shared.auth import Role
from shared.events import CallbackPreference, TicketClosed
from shared.policy.categories import Category
from tests.unit.callback.world import PHONE, World, at

pytestmark = pytest.mark.unit

SURVEY_OK = {"outcome": "reached", "problem_solved": True, "satisfaction": 5, "comment": "很满意"}


async def test_an_approved_reply_schedules_one_callback_with_the_reply_to_read_out(world: World) -> None:
    ticket = await world.ticket(at("2026-11-25 09:30"))
    items = await world.due()
    assert len(items) == 1
    item = items[0]
    assert (item["ticket_id"], item["kind"], item["category"]) == (ticket, "survey", "repair")
    assert item["due_at"] == "2026-11-26T09:30:00+08:00"
    assert item["scheduled_for"] == "2026-11-25T09:30:00+08:00"
    assert item["reply_text"] == "表已更换，燃气恢复"
    assert item["customer_phone"] == "138****5678"  # masked unless revealed
    assert item["customer_name"] == "张*明"
    assert item["unit_id"] == "U1" and item["division_id"] == "D1"
    assert await world.types(ticket) == ["CallbackScheduled"]


async def test_a_redelivered_reply_approval_makes_no_second_task(world: World) -> None:
    ticket = await world.ticket(at("2026-11-25 09:30"))
    events = await world.emitted(ticket)
    await world.replied_and_approved(ticket, at("2026-11-25 09:30"))  # same reply id, new event ids
    assert len(await world.due()) == 1
    assert await world.emitted(ticket) == events


@pytest.mark.parametrize(
    ("category", "preference"),
    [(Category.PRAISE, CallbackPreference()), (Category.REPAIR, CallbackPreference(mode="declined"))],
)
async def test_no_callback_owed_closes_the_ticket_right_after_the_approval(
    world: World, category: Category, preference: CallbackPreference
) -> None:
    ticket = await world.ticket(at("2026-11-25 09:30"), category=category, callback=preference)
    events = await world.emitted(ticket)
    assert [e.type for e in events] == ["TicketClosed"]
    closed = events[0].payload
    assert isinstance(closed, TicketClosed) and closed.reason == "no_callback_owed" and closed.reason_text
    assert await world.due() == []


async def test_three_failed_attempts_abandon_and_close_with_the_reason(world: World) -> None:
    world.clock.set(at("2026-11-25 18:59"))
    ticket = await world.ticket(at("2026-11-25 18:59"))
    callback_id = (await world.callback_of(ticket))["callback_id"]

    first = await world.call(callback_id, {"outcome": "no_answer"})
    assert first["callback"]["scheduled_for"] == "2026-11-25T20:59:00+08:00"
    world.clock.set(at("2026-11-25 20:58"))
    assert await world.due() == []  # spacing: not yet
    world.clock.set(at("2026-11-25 20:59"))
    assert [i["callback_id"] for i in await world.due()] == [callback_id]

    second = await world.call(callback_id, {"outcome": "busy"})
    assert second["callback"]["scheduled_for"] == "2026-11-26T08:00:00+08:00"  # 22:59 is quiet
    world.clock.set(at("2026-11-26 07:59"))
    assert await world.due() == []
    world.clock.set(at("2026-11-26 08:00"))
    third = await world.call(callback_id, {"outcome": "switched_off"})

    assert third["events"] == ["CallbackAttempted", "CallbackAbandoned", "TicketClosed"]
    assert third["callback"]["status"] == "abandoned"
    assert "3 callback attempts" in third["callback"]["outcome_text"]
    events = await world.emitted(ticket)
    assert [e.type for e in events] == [
        "CallbackScheduled",
        "CallbackAttempted",
        "CallbackScheduled",
        "CallbackAttempted",
        "CallbackScheduled",
        "CallbackAttempted",
        "CallbackAbandoned",
        "TicketClosed",
    ]
    closed = events[-1].payload
    assert isinstance(closed, TicketClosed)
    assert closed.reason == "callback_abandoned" and "switched off" in closed.reason_text
    assert [a["outcome"] for a in third["callback"]["attempts"]] == ["no_answer", "busy", "switched_off"]
    assert await world.due() == []


async def test_mismatch_reopens_then_the_new_reply_gets_a_new_callback_and_closes(world: World) -> None:
    ticket = await world.ticket(at("2026-11-25 09:30"))
    first_id = (await world.callback_of(ticket))["callback_id"]
    reopened = await world.call(
        first_id, {"outcome": "reply_mismatch", "customer_account": "维修人员没有上门，灶具仍然打不着火"}
    )
    assert reopened["events"] == ["CallbackAttempted", "TicketReopened"]
    assert reopened["callback"]["status"] == "reopened"
    assert await world.due() == []

    world.clock.set(at("2026-11-26 15:00"))
    await world.replied_and_approved(ticket, at("2026-11-26 15:00"), reply_id="R2", result="已上门更换点火针")
    second = await world.callback_of(ticket)
    assert second["callback_id"] != first_id and second["round"] == 2
    assert second["reply_text"] == "已上门更换点火针"
    assert second["due_at"] == "2026-11-27T15:00:00+08:00"
    done = await world.call(second["callback_id"], SURVEY_OK)
    assert done["events"] == ["CallbackAttempted", "CallbackCompleted", "TicketClosed"]
    assert await world.types(ticket) == [
        "CallbackScheduled",
        "CallbackAttempted",
        "TicketReopened",
        "CallbackScheduled",
        "CallbackAttempted",
        "CallbackCompleted",
        "TicketClosed",
    ]


async def test_two_agents_claiming_at_once_exactly_one_wins(world: World) -> None:
    ticket = await world.ticket(at("2026-11-25 09:30"))
    callback_id = (await world.callback_of(ticket))["callback_id"]
    answers = await asyncio.gather(world.claim(callback_id, "agent-1"), world.claim(callback_id, "agent-2"))
    assert sorted(r.status_code for r in answers) == [200, 409]
    winner = next(r for r in answers if r.status_code == 200).json()["claimed_by"]
    loser = "agent-2" if winner == "agent-1" else "agent-1"
    assert (await world.outcome(callback_id, SURVEY_OK, loser)).status_code == 409
    assert await world.due() == []  # a claimed callback is offered to nobody else


async def test_an_abandoned_claim_goes_back_to_the_queue_after_its_lease(world: World) -> None:
    ticket = await world.ticket(at("2026-11-25 09:30"))
    callback_id = (await world.callback_of(ticket))["callback_id"]
    assert (await world.claim(callback_id, "agent-1")).status_code == 200
    world.clock.advance(timedelta(minutes=15))
    assert (await world.claim(callback_id, "agent-2")).status_code == 200


async def test_the_customer_asks_for_22_00_and_is_called_then_though_quiet(world: World) -> None:
    ticket = await world.ticket(at("2026-11-25 09:30"))
    other = await world.ticket(at("2026-11-25 09:40"))
    callback_id = (await world.callback_of(ticket))["callback_id"]
    answer = await world.call(
        callback_id, {"outcome": "asked_another_time", "call_back_at": "2026-11-25T22:00:00+08:00"}
    )
    assert answer["callback"]["scheduled_for"] == "2026-11-25T22:00:00+08:00"
    assert answer["callback"]["schedule_reason"] == "customer_requested"
    world.clock.set(at("2026-11-25 22:00"))
    queue = await world.due()
    assert [i["callback_id"] for i in queue] == [callback_id]  # the other one waits for 08:00
    other_id = (await world.callback_of(other))["callback_id"]
    refused = await world.claim(other_id)
    assert refused.status_code == 409 and "quiet window" in refused.json()["error"]["message"]
    done = await world.call(callback_id, SURVEY_OK)
    assert done["callback"]["status"] == "completed"


async def test_a_callback_is_not_offered_before_its_slot(world: World) -> None:
    world.clock.set(at("2026-11-25 21:00"))
    ticket = await world.ticket(at("2026-11-25 21:00"))
    callback_id = (await world.callback_of(ticket))["callback_id"]
    assert await world.due() == []
    early = await world.claim(callback_id)
    assert early.status_code == 409 and "not due" in early.json()["error"]["message"]
    world.clock.set(at("2026-11-26 08:00"))
    assert [i["callback_id"] for i in await world.due()] == [callback_id]


async def test_the_queue_is_ordered_by_deadline_then_priority(world: World) -> None:
    late = await world.ticket(at("2026-11-25 09:50"))
    early = await world.ticket(at("2026-11-25 09:00"))
    assert [i["ticket_id"] for i in await world.due()] == [early, late]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "reached", "problem_solved": True}, "body.satisfaction"),
        ({"outcome": "reached", "satisfaction": 4}, "body.problem_solved"),
        ({"outcome": "reached", "problem_solved": True, "satisfaction": 9}, "body.satisfaction"),
        ({"outcome": "reply_mismatch"}, "body.customer_account"),
        ({"outcome": "asked_another_time"}, "body.call_back_at"),
        ({"outcome": "asked_another_time", "call_back_at": "2026-11-25T09:00:00+08:00"}, "body.call_back_at"),
        ({"outcome": "asked_another_time", "call_back_at": "2026-11-25T22:00:00"}, "body.call_back_at"),
        ({"outcome": "no_answer", "new_request": {"category": "repair", "description": "x"}}, "body.new_request"),
        ({"outcome": "hung_up"}, "body.outcome"),
        (
            {**SURVEY_OK, "new_request": {"category": "service_request", "description": "报装"}},
            "body.new_request",
        ),
    ],
)
async def test_bad_outcomes_are_422_with_the_field_and_change_nothing(
    world: World, body: dict[str, object], field: str
) -> None:
    ticket = await world.ticket(at("2026-11-25 09:30"))
    callback_id = (await world.callback_of(ticket))["callback_id"]
    assert (await world.claim(callback_id)).status_code == 200
    answer = await world.outcome(callback_id, body)
    assert answer.status_code == 422, answer.text
    assert any(f["field"].startswith(field) for f in answer.json()["error"]["fields"]), answer.json()
    detail = (await world.client.get(f"/api/v1/callbacks/{callback_id}", headers=world.headers())).json()
    assert detail["attempts"] == [] and detail["status"] == "scheduled"
    assert await world.types(ticket) == ["CallbackScheduled"]


async def test_a_reply_callback_tells_the_result_without_a_survey(world: World) -> None:
    ticket = await world.ticket(at("2026-11-25 09:30"), category=Category.CONSULTATION)
    callback = await world.callback_of(ticket)
    assert callback["kind"] == "reply"
    done = await world.call(callback["callback_id"], {"outcome": "reached", "comment": "已告知"})
    assert done["events"] == ["CallbackAttempted", "CallbackCompleted", "TicketClosed"]


async def test_the_claimer_may_reveal_the_phone_and_others_may_not(world: World) -> None:
    ticket = await world.ticket(at("2026-11-25 09:30"))
    callback_id = (await world.callback_of(ticket))["callback_id"]
    body = {"field": "phone", "reason": "callback to the customer"}
    path = f"/api/v1/callbacks/{callback_id}/reveal"
    assert (await world.client.post(path, headers=world.headers("agent-1"), json=body)).status_code == 403
    assert (await world.claim(callback_id, "agent-1")).status_code == 200
    revealed = await world.client.post(path, headers=world.headers("agent-1"), json=body)
    assert revealed.status_code == 200 and revealed.json()["value"] == PHONE
    assert (await world.client.post(path, headers=world.headers("agent-2"), json=body)).status_code == 403
    audit = await world.client.get("/api/v1/audit", headers=world.headers("auditor-1", Role.AUDITOR))
    records = audit.json()["records"]
    assert [(r["subject"], r["field"], r["reason"]) for r in records] == [("agent-1", "phone", body["reason"])]


async def test_other_branches_see_nothing(world: World) -> None:
    ticket = await world.ticket(at("2026-11-25 09:30"))
    callback_id = (await world.callback_of(ticket))["callback_id"]
    other = world.headers("agent-9", branch="demo")
    assert (await world.client.get("/api/v1/callbacks/due", headers=other)).json()["items"] == []
    assert (await world.client.post(f"/api/v1/callbacks/{callback_id}/claim", headers=other)).status_code == 404


async def test_unit_handlers_cannot_work_the_queue(world: World) -> None:
    answer = await world.client.get("/api/v1/callbacks/due", headers=world.headers("h1", Role.UNIT_HANDLER, unit="U1"))
    assert answer.status_code == 403


async def test_satisfaction_per_unit_division_and_category(world: World) -> None:
    for unit, division, rating, solved in (("U1", "D1", 5, True), ("U1", "D1", 3, False), ("U2", "D2", 1, False)):
        ticket = await world.ticket(at("2026-11-25 09:30"), unit=unit, division=division)
        callback_id = (await world.callback_of(ticket))["callback_id"]
        await world.call(callback_id, {"outcome": "reached", "problem_solved": solved, "satisfaction": rating})
    supervisor = world.headers("sup-1", Role.CENTER_SUPERVISOR)
    by_unit = (await world.client.get("/api/v1/satisfaction", headers=supervisor)).json()["rows"]
    assert [(r["key"], r["surveys"], r["solved"], r["average_satisfaction"]) for r in by_unit] == [
        ("U1", 2, 1, 4.0),
        ("U2", 1, 0, 1.0),
    ]
    assert by_unit[0]["ratings"] == {"1": 0, "2": 0, "3": 1, "4": 0, "5": 1}
    by_category = await world.client.get("/api/v1/satisfaction", headers=supervisor, params={"group_by": "category"})
    assert [(r["key"], r["completed"]) for r in by_category.json()["rows"]] == [("repair", 3)]
    division = world.headers("dsup-2", Role.DIVISION_SUPERVISOR, division="D2")
    scoped = await world.client.get("/api/v1/satisfaction", headers=division, params={"group_by": "division"})
    assert [r["key"] for r in scoped.json()["rows"]] == ["D2"]
    bad = await world.client.get("/api/v1/satisfaction", headers=supervisor, params={"group_by": "agent"})
    assert bad.status_code == 422


async def test_a_ticket_closed_elsewhere_cancels_its_callback(world: World) -> None:
    ticket = await world.ticket(at("2026-11-25 09:30"))
    await world.feed(TicketClosed(reason="closed_by_center", closed_by="sup-1"), ticket_id=ticket)
    assert await world.due() == []
    assert (await world.callback_of(ticket))["status"] == "cancelled"


async def test_the_queue_can_list_the_callbacks_not_allowed_yet_with_their_time(world: World) -> None:
    # the console's "not before 08:00" list (issue 16): a retry pushed past the quiet window
    world.clock.set(at("2026-11-25 20:00"))
    ticket = await world.ticket(at("2026-11-25 20:00"))
    callback_id = (await world.callback_of(ticket))["callback_id"]
    await world.call(callback_id, {"outcome": "no_answer"})
    assert await world.due() == []
    later = await world.due(include_later="true")
    assert [(i["callback_id"], i["scheduled_for"]) for i in later] == [(callback_id, "2026-11-26T08:00:00+08:00")]
