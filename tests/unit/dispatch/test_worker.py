"""The worker's handling of consumed events: dispatch or queue, urgent notices, reopen, close, idempotence."""

from __future__ import annotations

from datetime import timedelta

from shared.events import (
    ComplaintGraded,
    Recipient,
    TicketClosed,
    TicketReopened,
    TicketResolvedOnFirstContact,
    UrgentNoticeRequested,
)
from shared.policy.categories import Category, Subtype
from shared.policy.grading import GradeReason
from shared.policy.limits import ComplaintLevel
from tests.unit.dispatch.world import CENTER, HANDLER_N1, START, World, other_event, received


async def test_a_routable_ticket_is_dispatched_with_the_rule_that_decided(world: World) -> None:
    await world.feed(received(Category.SERVICE_REQUEST, subtype=Subtype.INSTALLATION, district="North-1"))
    [event] = await world.new_events()
    assert event.type == "TicketDispatched"
    payload = event.payload
    assert (payload.unit_id, payload.division_id, payload.rule_id, payload.mode) == (  # type: ignore[attr-defined]
        "UNIT-INSTALL",
        "DIV-SOUTH",
        "install-works",
        "automatic",
    )
    assert payload.subtype is Subtype.INSTALLATION  # type: ignore[attr-defined]


async def test_the_agents_unit_is_used_when_it_exists(world: World) -> None:
    await world.feed(received(district="North-1", unit_id="UNIT-S1"))
    [event] = await world.new_events()
    assert (event.payload.unit_id, event.payload.rule_id) == ("UNIT-S1", "agent-selected")  # type: ignore[attr-defined]


async def test_an_unroutable_ticket_waits_in_the_manual_queue_and_the_center_dispatches_it(world: World) -> None:
    event = received(district="Atlantis")
    await world.feed(event)
    [queued] = await world.new_events()
    assert queued.type == "ManualDispatchQueued"
    assert queued.payload.reason == "no_matching_rule"  # type: ignore[attr-defined]
    queue = (await world.client.get("/api/v1/center/queue", headers=CENTER)).json()
    assert [t["ticket_id"] for t in queue] == [event.ticket_id]
    assert queue[0]["clocks"][0]["clock"] == "dispatch"  # the dispatch clock runs from receipt
    response = await world.client.post(
        f"/api/v1/tickets/{event.ticket_id}/dispatch", headers=CENTER, json={"unit_id": "UNIT-N1"}
    )
    assert response.status_code == 200
    [dispatched] = await world.new_events()
    assert dispatched.payload.mode == "manual"  # type: ignore[attr-defined]


async def test_a_redelivered_event_is_acted_on_once(world: World) -> None:
    event = received()
    await world.feed(event)
    await world.feed(event)
    await world.feed(event, event)
    assert await world.types() == ["TicketDispatched"]


async def test_an_alarm_dispatched_by_rule_phones_the_unit_before_the_ticket_follows(world: World) -> None:
    await world.feed(received(Category.ALARM, district="North-2"))
    events = await world.new_events()
    assert [e.type for e in events] == ["UrgentNoticeRequested", "TicketDispatched"]
    notice = events[0].payload
    assert notice.reason == "alarm"  # type: ignore[attr-defined]
    assert {(r.org_level, r.org_id) for r in notice.recipients} == {  # type: ignore[attr-defined]
        ("unit", "UNIT-N2"),
        ("division", "DIV-NORTH"),
    }
    assert notice.address == "民族大道100号" and notice.contact_phone == "13812345678"  # type: ignore[attr-defined]
    assert events[0].topic == "hotline.notifications"


async def test_an_alarm_to_the_unit_intake_already_phoned_sends_no_second_notice(world: World) -> None:
    await world.feed(received(Category.ALARM, district="North-2", unit_id="UNIT-N2"))
    assert await world.types() == ["TicketDispatched"]


async def test_level_1_complaints_phone_the_unit_and_tell_the_center(world: World) -> None:
    await world.feed(received(Category.COMPLAINT, level=ComplaintLevel.MAJOR))
    events = await world.new_events()
    assert [e.type for e in events] == ["UrgentNoticeRequested", "TicketDispatched"]
    assert {r.org_level for r in events[0].payload.recipients} == {"unit", "center"}  # type: ignore[attr-defined]
    assert events[1].payload.complaint_level is ComplaintLevel.MAJOR  # type: ignore[attr-defined]


async def test_a_complaint_raised_to_level_1_after_dispatch_phones_the_unit_once(world: World) -> None:
    event = received(Category.COMPLAINT)
    await world.feed(event)
    assert event.ticket_id is not None
    graded = ComplaintGraded(
        level=ComplaintLevel.MAJOR,
        previous_level=ComplaintLevel.MINOR,
        subject_key="default|place|gas_smell",
        reasons=(GradeReason.LITIGATION,),
    )
    await world.feed(other_event(graded, event.ticket_id, START, producer="intake"))
    await world.feed(other_event(graded, event.ticket_id, START, producer="intake"))
    assert await world.types() == ["TicketDispatched", "UrgentNoticeRequested"]
    detail = (await world.client.get(f"/api/v1/tickets/{event.ticket_id}", headers=CENTER)).json()
    assert detail["complaint_level"] == 1
    assert {c["clock"]: c for c in detail["clocks"]}["handle"]["deadline"].startswith("2026-03-04T09:00:00+08:00")


async def test_answered_on_the_call_in_the_same_batch_is_not_dispatched(world: World) -> None:
    event = received(Category.CONSULTATION)
    assert event.ticket_id is not None
    answered = other_event(
        TicketResolvedOnFirstContact(agent_id="agent-1", answer="opening hours"),
        event.ticket_id,
        START,
        producer="intake",
    )
    await world.feed(event, answered)
    assert await world.types() == []
    detail = (await world.client.get(f"/api/v1/tickets/{event.ticket_id}", headers=CENTER)).json()
    assert detail["status"] == "closed" and detail["close_reason"] == "answered_on_call"


async def test_a_reopened_ticket_goes_back_to_the_same_unit_and_resolve_restarts(world: World) -> None:
    event = received()
    ticket = event.ticket_id
    assert ticket is not None
    await world.feed(event)
    await world.client.post(f"/api/v1/tickets/{ticket}/accept", headers=HANDLER_N1)
    await world.client.post(f"/api/v1/tickets/{ticket}/reply", headers=HANDLER_N1, json={"result": "fixed"})
    await world.client.post(f"/api/v1/tickets/{ticket}/review", headers=CENTER, json={"decision": "approve"})
    reopened_at = START + timedelta(days=2)
    world.clock.set(reopened_at)
    reopened = TicketReopened(
        unit_id="UNIT-N1", reason="reply_does_not_match_facts", customer_account="still leaking", agent_id="cb-agent"
    )
    await world.feed(other_event(reopened, ticket, reopened_at))
    detail = (await world.client.get(f"/api/v1/tickets/{ticket}", headers=HANDLER_N1)).json()
    assert detail["status"] == "accepted" and detail["work_round"] == 2
    resolve = {c["clock"]: c for c in detail["clocks"]}["resolve"]
    # in the branch zone (issue 13 item 5)
    assert resolve["running"] and resolve["started_at"].startswith("2026-03-04T09:00:00+08:00")
    again = await world.client.post(
        f"/api/v1/tickets/{ticket}/reply", headers=HANDLER_N1, json={"result": "replaced the pipe"}
    )
    assert again.status_code == 200
    closed = TicketClosed(reason="callback_completed")
    await world.feed(other_event(closed, ticket, reopened_at))
    detail = (await world.client.get(f"/api/v1/tickets/{ticket}", headers=CENTER)).json()
    assert detail["status"] == "closed" and detail["allowed_actions"] == []


async def test_urgent_notices_reach_the_notifier_once_with_the_units_duty_phone(world: World) -> None:
    notice = UrgentNoticeRequested(
        reason="alarm",
        recipients=(Recipient(org_level="unit", org_id="U-QINGXIU"),),
        category=Category.ALARM,
        message="gas alarm",
        address="民族大道1号",
    )
    event = other_event(notice, "T-alarm", START, producer="intake").model_copy(update={"branch": "demo"})
    await world.feed(event)
    await world.feed(event)
    assert len(world.notifier.delivered) == 1
    delivered, phones = world.notifier.delivered[0]
    assert delivered.event_id == event.event_id and phones == {"U-QINGXIU": "0771-5550101"}


async def test_a_branch_without_an_org_tree_queues_rather_than_guesses(world: World) -> None:
    await world.feed(received(branch="nowhere"))
    [event] = await world.new_events()
    assert event.type == "ManualDispatchQueued" and event.branch == "nowhere"
