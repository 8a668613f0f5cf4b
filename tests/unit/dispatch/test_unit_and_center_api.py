"""The unit's and the center's API: a ticket from dispatch to an approved reply, and every refusal on the way."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta
from typing import Any

from shared.events import TicketDispatched
from shared.policy.categories import Category
from tests.unit.dispatch.world import (
    CENTER,
    DIVISION_NORTH,
    HANDLER_N1,
    HANDLER_N1_B,
    HANDLER_N2,
    OTHER_BRANCH_CENTER,
    World,
    received,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


async def dispatched_ticket(world: World, **kw: Any) -> str:
    event = received(**kw)
    await world.feed(event)
    assert event.ticket_id is not None
    return event.ticket_id


async def post(world: World, path: str, headers: dict[str, str], body: dict[str, Any] | None = None) -> Any:
    response = await world.client.post(f"/api/v1{path}", headers=headers, json=body)
    return response


async def test_a_ticket_goes_from_dispatch_to_an_approved_reply_with_every_step_an_event_in_order(
    world: World,
) -> None:
    ticket = await dispatched_ticket(world)
    inbox = (await world.client.get("/api/v1/unit/inbox", headers=HANDLER_N1)).json()
    assert [t["ticket_id"] for t in inbox] == [ticket]
    clocks = {c["clock"]: c for c in inbox[0]["clocks"]}
    # repair: contact within 2 h, resolve within 3 working days (RULES.md §2), both running
    assert clocks["contact"]["remaining_seconds"] == 7200
    assert clocks["resolve"]["deadline"].startswith("2026-03-05T09:00:00+08:00")
    # only what a unit handler may do: the center's dispatch, decide_extension and flag are not offered
    assert inbox[0]["allowed_actions"] == ["accept", "return", "request_extension"]
    center_view = (await world.client.get(f"/api/v1/tickets/{ticket}", headers=CENTER)).json()
    assert center_view["allowed_actions"] == ["dispatch", "decide_extension", "flag"]

    world.clock.advance(timedelta(minutes=10))
    assert (await post(world, f"/tickets/{ticket}/accept", HANDLER_N1)).status_code == 200
    world.clock.advance(timedelta(minutes=30))
    contact = await post(
        world, f"/tickets/{ticket}/contact", HANDLER_N1, {"method": "phone", "note": "appointment at 14:00"}
    )
    assert contact.status_code == 200
    contact_clock = {c["clock"]: c for c in contact.json()["clocks"]}["contact"]
    assert contact_clock["running"] is False and contact_clock["overdue"] is False

    photo = await post(
        world,
        f"/tickets/{ticket}/attachments",
        HANDLER_N1,
        {"filename": "meter.png", "media_type": "image/png", "content_base64": base64.b64encode(PNG).decode()},
    )
    assert photo.status_code == 201, photo.text
    reply = await post(
        world,
        f"/tickets/{ticket}/reply",
        HANDLER_N1,
        {"result": "replaced the meter seal", "opinion": "solved", "attachment_ids": [photo.json()["attachment_id"]]},
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "replied"

    reviews = (await world.client.get("/api/v1/center/reviews", headers=CENTER)).json()
    assert [t["ticket_id"] for t in reviews] == [ticket]
    approved = await post(world, f"/tickets/{ticket}/review", CENTER, {"decision": "approve"})
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"

    events = await world.new_events()
    assert [e.type for e in events] == [
        "TicketDispatched",
        "TicketAccepted",
        "CustomerContacted",
        "TicketReplied",
        "ReplyApproved",
    ]
    assert all(e.ticket_id == ticket and e.producer == "dispatch" for e in events)
    replied, approval = events[3].payload, events[4].payload
    assert replied.attachments[0].media_type == "image/png"  # type: ignore[attr-defined]
    assert approval.reply_received_at == events[3].occurred_at  # type: ignore[attr-defined]
    history = (await world.client.get(f"/api/v1/tickets/{ticket}/history", headers=CENTER)).json()
    assert [h["type"] for h in history] == [e.type for e in events]


async def test_an_illegal_action_gets_409_with_the_status_and_the_allowed_actions(world: World) -> None:
    ticket = await dispatched_ticket(world)
    refused = await post(world, f"/tickets/{ticket}/reply", HANDLER_N1, {"result": "done"})
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "illegal_transition"
    assert error["current_status"] == "dispatched"
    assert error["allowed_actions"] == ["accept", "return", "request_extension"]  # the handler's own
    assert (await post(world, f"/tickets/{ticket}/review", CENTER, {"decision": "approve"})).status_code == 409
    assert (await post(world, f"/tickets/{ticket}/close", CENTER, {"reason_text": "x"})).status_code == 409
    assert (await post(world, f"/tickets/{ticket}/refuse-return", CENTER, {"reason_text": "x"})).status_code == 409
    await post(world, f"/tickets/{ticket}/accept", HANDLER_N1)
    again = await post(world, f"/tickets/{ticket}/accept", HANDLER_N1)
    assert again.status_code == 409 and again.json()["error"]["current_status"] == "accepted"
    assert await world.types() == ["TicketDispatched", "TicketAccepted"]


async def test_two_handlers_accepting_at_once_one_wins_one_gets_409(world: World) -> None:
    ticket = await dispatched_ticket(world)
    first, second = await asyncio.gather(
        post(world, f"/tickets/{ticket}/accept", HANDLER_N1),
        post(world, f"/tickets/{ticket}/accept", HANDLER_N1_B),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    assert (await world.types()).count("TicketAccepted") == 1


async def test_a_stale_expected_version_is_refused(world: World) -> None:
    ticket = await dispatched_ticket(world)
    detail = (await world.client.get(f"/api/v1/tickets/{ticket}", headers=HANDLER_N1)).json()
    stale = await post(world, f"/tickets/{ticket}/accept", HANDLER_N1, {"expected_version": detail["version"] + 1})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "version_conflict"
    fresh = await post(world, f"/tickets/{ticket}/accept", HANDLER_N1, {"expected_version": detail["version"]})
    assert fresh.status_code == 200 and fresh.json()["version"] > detail["version"]


async def test_scope_other_units_and_branches_do_not_see_the_ticket(world: World) -> None:
    ticket = await dispatched_ticket(world)
    assert (await world.client.get(f"/api/v1/tickets/{ticket}", headers=HANDLER_N2)).status_code == 404
    assert (await post(world, f"/tickets/{ticket}/accept", HANDLER_N2)).status_code == 404
    assert (await world.client.get(f"/api/v1/tickets/{ticket}", headers=OTHER_BRANCH_CENTER)).status_code == 404
    assert (await world.client.get("/api/v1/unit/inbox", headers=HANDLER_N2)).json() == []
    division = (await world.client.get("/api/v1/tickets", headers=DIVISION_NORTH)).json()
    assert [t["ticket_id"] for t in division] == [ticket]
    detail = (await world.client.get(f"/api/v1/tickets/{ticket}", headers=HANDLER_N1)).json()
    assert detail["customer_phone"] != "13812345678"  # masked (RULES.md §6)


async def test_inbox_is_sorted_by_the_nearest_deadline(world: World) -> None:
    consultation = await dispatched_ticket(world, category=Category.CONSULTATION)  # resolve 1 wd
    repair = await dispatched_ticket(world, category=Category.REPAIR)  # contact 2 h
    inbox = (await world.client.get("/api/v1/unit/inbox", headers=HANDLER_N1)).json()
    assert [t["ticket_id"] for t in inbox] == [repair, consultation]


async def test_return_then_correct_and_redispatch(world: World) -> None:
    ticket = await dispatched_ticket(world)
    await world.new_events()
    returned = await post(
        world,
        f"/tickets/{ticket}/return",
        HANDLER_N1,
        {"reason": "outside_duties", "reason_text": "this street is North-2's"},
    )
    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    queue = (await world.client.get("/api/v1/center/queue", headers=CENTER)).json()
    assert [t["ticket_id"] for t in queue] == [ticket]
    assert {c["clock"] for c in queue[0]["clocks"] if c["running"]} == {"dispatch"}
    redispatched = await post(
        world, f"/tickets/{ticket}/dispatch", CENTER, {"unit_id": "UNIT-N2", "district": "North-2"}
    )
    assert redispatched.status_code == 200
    events = await world.new_events()
    assert [e.type for e in events] == ["TicketReturned", "TicketDispatched"]
    dispatched = events[1].payload
    assert isinstance(dispatched, TicketDispatched)
    assert (dispatched.unit_id, dispatched.previous_unit_id, dispatched.mode) == ("UNIT-N2", "UNIT-N1", "manual")
    assert (dispatched.dispatch_count, dispatched.dispatcher_id) == (2, "supervisor-1")
    assert (await post(world, f"/tickets/{ticket}/accept", HANDLER_N2)).status_code == 200


async def test_center_refuses_a_return_or_closes_it_with_a_reason(world: World) -> None:
    kept = await dispatched_ticket(world)
    closed = await dispatched_ticket(world)
    await world.new_events()
    await post(world, f"/tickets/{kept}/accept", HANDLER_N1)
    for ticket in (kept, closed):
        await post(
            world,
            f"/tickets/{ticket}/return",
            HANDLER_N1,
            {"reason": "customer_unreachable", "reason_text": "no answer"},
        )
    refused = await post(world, f"/tickets/{kept}/refuse-return", CENTER, {"reason_text": "try the landline"})
    assert refused.json()["status"] == "accepted"  # back as the unit left it
    done = await post(world, f"/tickets/{closed}/close", CENTER, {"reason_text": "customer withdrew the request"})
    assert done.json()["status"] == "closed"
    events = await world.new_events()
    assert [e.type for e in events] == [
        "TicketAccepted",
        "TicketReturned",
        "TicketReturned",
        "TicketReturnRefused",
        "TicketClosed",
    ]
    assert events[-1].payload.reason == "closed_by_center"  # type: ignore[attr-defined]


async def test_rejected_reply_goes_back_to_the_unit(world: World) -> None:
    ticket = await dispatched_ticket(world)
    await post(world, f"/tickets/{ticket}/accept", HANDLER_N1)
    await post(world, f"/tickets/{ticket}/reply", HANDLER_N1, {"result": "done"})
    no_reason = await post(world, f"/tickets/{ticket}/review", CENTER, {"decision": "reject"})
    assert no_reason.status_code == 422 and no_reason.json()["error"]["fields"][0]["field"] == "reason"
    rejected = await post(
        world,
        f"/tickets/{ticket}/review",
        CENTER,
        {"decision": "reject", "reason": "missing_evidence", "reason_text": "a photo please"},
    )
    assert rejected.json()["status"] == "accepted"
    again = await post(world, f"/tickets/{ticket}/reply", HANDLER_N1, {"result": "done, see photo"})
    assert again.status_code == 200
    assert (await world.types())[-3:] == ["TicketReplied", "ReplyRejected", "TicketReplied"]


async def test_extension_only_before_the_deadline_and_a_grant_moves_it(world: World) -> None:
    ticket = await dispatched_ticket(world)
    await post(world, f"/tickets/{ticket}/accept", HANDLER_N1)
    asked = await post(
        world,
        f"/tickets/{ticket}/extensions",
        HANDLER_N1,
        {
            "clock": "contact",
            "requested_deadline": "2026-03-02T13:00:00+08:00",
            "reason_text": "customer away until noon",
        },
    )
    assert asked.status_code == 201, asked.text
    twice = await post(
        world,
        f"/tickets/{ticket}/extensions",
        HANDLER_N1,
        {"clock": "contact", "requested_deadline": "2026-03-02T14:00:00+08:00", "reason_text": "x"},
    )
    assert twice.status_code == 409
    pending = (await world.client.get("/api/v1/center/extensions", headers=CENTER)).json()
    request_id = pending[0]["request_id"]
    granted = await post(world, f"/tickets/{ticket}/extensions/{request_id}/decision", CENTER, {"decision": "grant"})
    assert granted.status_code == 200 and granted.json()["status"] == "granted"
    clock = {
        c["clock"]: c
        for c in (await world.client.get(f"/api/v1/tickets/{ticket}", headers=HANDLER_N1)).json()["clocks"]
    }["contact"]
    assert clock["extended"] is True and clock["deadline"].startswith("2026-03-02T13:00:00+08:00")
    # past the (moved) deadline: too late to ask
    world.clock.advance(timedelta(hours=5))
    late = await post(
        world,
        f"/tickets/{ticket}/extensions",
        HANDLER_N1,
        {"clock": "contact", "requested_deadline": "2026-03-02T20:00:00+08:00", "reason_text": "x"},
    )
    assert late.status_code == 409 and late.json()["error"]["code"] == "deadline_passed"
    # a denied request leaves the resolve deadline where it was
    asked = await post(
        world,
        f"/tickets/{ticket}/extensions",
        HANDLER_N1,
        {"clock": "resolve", "requested_deadline": "2026-03-10T09:00:00+08:00", "reason_text": "parts"},
    )
    denied = await post(
        world,
        f"/tickets/{ticket}/extensions/{asked.json()['request_id']}/decision",
        CENTER,
        {"decision": "deny", "reason_text": "parts are in stock"},
    )
    assert denied.json()["status"] == "denied"
    types = await world.types()
    assert types[-4:] == ["ExtensionRequested", "ExtensionGranted", "ExtensionRequested", "ExtensionDenied"]


async def test_requested_deadline_must_be_later(world: World) -> None:
    ticket = await dispatched_ticket(world)
    early = await post(
        world,
        f"/tickets/{ticket}/extensions",
        HANDLER_N1,
        {"clock": "contact", "requested_deadline": "2026-03-02T10:00:00+08:00", "reason_text": "x"},
    )
    assert early.status_code == 422
    assert early.json()["error"]["fields"][0]["field"] == "requested_deadline"


async def test_supervision_flags_and_spot_checks(world: World) -> None:
    ticket = await dispatched_ticket(world)
    flag = await post(world, f"/tickets/{ticket}/flags", CENTER, {"kind": "supervision", "note": "督办: 3rd call"})
    assert flag.status_code == 201 and flag.json()["org_level"] == "center"
    spot = await post(world, f"/tickets/{ticket}/flags", DIVISION_NORTH, {"kind": "spot_check", "note": "ok"})
    assert spot.status_code == 201 and spot.json()["org_level"] == "division"
    assert (await post(world, f"/tickets/{ticket}/flags", HANDLER_N1, {"kind": "spot_check"})).status_code == 403
    detail = (await world.client.get(f"/api/v1/tickets/{ticket}", headers=CENTER)).json()
    assert detail["supervision_flagged"] is True and len(detail["flags"]) == 2
    assert (await world.types())[-2:] == ["SupervisionFlagged", "SupervisionFlagged"]


async def test_bad_input_gets_field_messages_and_writes_nothing(world: World) -> None:
    ticket = await dispatched_ticket(world)
    await world.new_events()
    bad_reason = await post(world, f"/tickets/{ticket}/return", HANDLER_N1, {"reason": "lazy", "reason_text": "x"})
    assert bad_reason.status_code == 422
    assert bad_reason.json()["error"]["fields"][0]["field"] == "body.reason"
    await post(world, f"/tickets/{ticket}/accept", HANDLER_N1)
    future = await post(
        world,
        f"/tickets/{ticket}/contact",
        HANDLER_N1,
        {"method": "phone", "contacted_at": "2026-03-03T09:00:00+08:00"},
    )
    assert future.status_code == 422 and future.json()["error"]["fields"][0]["field"] == "contacted_at"
    naive = await post(
        world, f"/tickets/{ticket}/contact", HANDLER_N1, {"method": "phone", "contacted_at": "2026-03-02T09:00:00"}
    )
    assert naive.status_code == 422
    unknown_unit = await post(world, f"/tickets/{ticket}/dispatch", CENTER, {"unit_id": "UNIT-NOPE"})
    assert unknown_unit.status_code == 422 and unknown_unit.json()["error"]["fields"][0]["field"] == "unit_id"
    assert await world.types() == ["TicketAccepted"]
    detail = (await world.client.get(f"/api/v1/tickets/{ticket}", headers=HANDLER_N1)).json()
    assert detail["status"] == "accepted" and detail["unit_id"] == "UNIT-N1"


async def test_roles_are_enforced(world: World) -> None:
    ticket = await dispatched_ticket(world)
    assert (await post(world, f"/tickets/{ticket}/accept", CENTER)).status_code == 403
    assert (await post(world, f"/tickets/{ticket}/review", HANDLER_N1, {"decision": "approve"})).status_code == 403
    assert (await world.client.get("/api/v1/center/queue", headers=HANDLER_N1)).status_code == 403
    assert (await world.client.get("/api/v1/unit/inbox")).status_code == 401


async def test_the_holding_unit_reveals_the_customers_phone_with_an_audited_reason(world: World) -> None:
    ticket = await dispatched_ticket(world)
    no_reason = await post(world, f"/tickets/{ticket}/reveal", HANDLER_N1, {"field": "phone"})
    assert no_reason.status_code == 422
    revealed = await post(world, f"/tickets/{ticket}/reveal", HANDLER_N1, {"field": "phone", "reason": "call back"})
    assert revealed.status_code == 200 and revealed.json()["value"] == "13812345678"
    assert revealed.json()["audit_id"] >= 1
    other = await post(world, f"/tickets/{ticket}/reveal", HANDLER_N2, {"field": "phone", "reason": "curious"})
    assert other.status_code == 404
