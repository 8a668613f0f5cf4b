"""The chaos suite's verdict on the topics: what counts as lost, as a duplicated side effect, as a redelivery."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hotline.chaos.checks import check_timed, judge
from hotline.chaos.outbound import judge_outbound
from hotline.infra.kannel import FakeSms
from shared.events import (
    CallbackScheduled,
    CustomerNotified,
    Event,
    Payload,
    ReplyApproved,
    SlaBreached,
    TicketDispatched,
    TicketReceived,
    TicketResolvedOnFirstContact,
)
from tests.unit.events.samples import sample_event

EARLY = datetime(2026, 3, 9, 1, 0, tzinfo=UTC)
LATE = EARLY + timedelta(hours=2)


def event(cls: type[Payload], ticket: str, **changes: Any) -> Event[Any]:
    made = sample_event(cls, ticket_id=ticket)
    payload = type(made.payload).model_validate({**made.payload.model_dump(), **changes})
    return made.model_copy(update={"payload": payload})


def again(original: Event[Any]) -> Event[Any]:
    """The same side effect produced a second time: same content, a new event id."""
    return original.model_copy(update={"event_id": uuid.uuid4()})


def handled(ticket: str) -> list[Event[Any]]:
    wants_callback = {"mode": "required"}
    return [event(TicketReceived, ticket, callback=wants_callback), event(TicketDispatched, ticket)]


def test_a_dispatched_work_order_is_neither_lost_nor_duplicated() -> None:
    verdict = judge(handled("T1"), ["T1"])
    assert (verdict.accepted, verdict.work_orders, verdict.lost, verdict.duplicated) == (1, 1, 0, 0)


def test_an_accepted_ticket_never_received_or_never_dispatched_is_lost() -> None:
    events = [event(TicketReceived, "T2")]
    verdict = judge(events, ["T1", "T2"])
    assert verdict.not_received == ["T1"] and verdict.not_dispatched == ["T2"] and verdict.lost == 2


def test_a_ticket_answered_on_the_call_needs_no_dispatch() -> None:
    events = [event(TicketReceived, "T1"), event(TicketResolvedOnFirstContact, "T1")]
    verdict = judge(events, ["T1"])
    assert verdict.work_orders == 0 and verdict.lost == 0


def test_a_second_breach_with_another_event_id_is_a_duplicated_side_effect() -> None:
    breach = event(SlaBreached, "T1")
    verdict = judge([*handled("T1"), breach, again(breach)], ["T1"])
    assert verdict.duplicates == {"SlaBreached": 1} and not verdict.ok


def test_the_same_event_id_twice_is_a_redelivery_not_a_duplicate() -> None:
    breach = event(SlaBreached, "T1")
    verdict = judge([*handled("T1"), breach, breach], ["T1"])
    assert verdict.duplicated == 0 and verdict.redelivered == {"SlaBreached": 1} and verdict.ok


def test_breaches_of_two_clocks_are_two_side_effects() -> None:
    first = event(SlaBreached, "T1")
    other = event(SlaBreached, "T1", clock="resolve" if first.payload.clock != "resolve" else "dispatch")
    assert judge([*handled("T1"), first, other], ["T1"]).duplicated == 0


def test_an_approved_reply_without_its_callback_is_a_lost_callback() -> None:
    approved = event(ReplyApproved, "T1")
    lost = judge([*handled("T1"), approved], ["T1"])
    assert lost.callbacks_due == 1 and lost.lost_callbacks == ["T1"]
    kept = judge([*handled("T1"), approved, event(CallbackScheduled, "T1")], ["T1"])
    assert kept.lost_callbacks == [] and kept.ok


def test_a_declined_callback_is_not_owed() -> None:
    events = [event(TicketReceived, "T1", callback={"mode": "declined"}), event(TicketDispatched, "T1")]
    assert judge([*events, event(ReplyApproved, "T1")], ["T1"]).callbacks_due == 0


def test_a_praise_ticket_owes_no_callback_even_when_the_caller_asked_for_one() -> None:
    """The long run's "lost callback" (38265b57): a praise ticket closed with no_callback_owed, as RULES.md §2 says."""
    received = event(TicketReceived, "T1", category="praise", complaint=None, callback={"mode": "required"})
    verdict = judge([received, event(TicketDispatched, "T1"), event(ReplyApproved, "T1")], ["T1"])
    assert verdict.callbacks_due == 0 and verdict.lost_callbacks == [] and verdict.ok


def test_two_tickets_forwarded_from_one_callback_request_are_a_duplicate() -> None:
    child = event(TicketReceived, "C1", parent_ticket_id="T1", description="new leak")
    twin = event(TicketReceived, "C2", parent_ticket_id="T1", description="new leak")
    assert judge([*handled("T1"), child, twin], ["T1"]).duplicates == {"new tickets forwarded": 1}


def test_a_dispatched_work_order_without_clocks_is_not_timed() -> None:
    events = handled("T1") + handled("T2")
    verdict = judge(events, ["T1", "T2"])
    check_timed(verdict, {"T1"})
    assert verdict.not_timed == ["T2"] and verdict.lost == 1


def test_a_dispatched_query_runs_no_clock_and_needs_none() -> None:
    events = [event(TicketReceived, "Q1", category="query", complaint=None), event(TicketDispatched, "Q1")]
    verdict = judge(events, ["Q1"])
    check_timed(verdict, set())
    assert verdict.to_time == [] and verdict.lost == 0


def notified(ticket: str, text: str, key: str, at: datetime = EARLY) -> Event[Any]:
    return event(CustomerNotified, ticket, text=text, message_key=key, scheduled_for=at)


def sms(text: str) -> FakeSms:
    return FakeSms(sender="95007", to="13987650001", text=text, at=0.0)


def test_one_sms_per_notice_is_neither_lost_nor_duplicated() -> None:
    verdict = judge_outbound([notified("T1", "工单 A 已派单", "status:1")], [sms("工单 A 已派单")], [], now=LATE)
    assert (verdict.notices, verdict.sms_received, verdict.sms_duplicates, verdict.sms_lost) == (1, 1, 0, [])


def test_a_second_copy_of_one_notice_at_the_smsc_is_a_duplicate_sms() -> None:
    copies = [sms("工单 A 已派单"), sms("工单 A 已派单")]
    verdict = judge_outbound([notified("T1", "工单 A 已派单", "status:1")], copies, [], now=LATE)
    assert verdict.sms_duplicates == 1
    whole = judge(handled("T1"), ["T1"])
    whole.add_outbound(verdict)
    assert whole.duplicates == {"SMS": 1} and not whole.ok


def test_the_same_text_for_two_triggering_events_is_two_sms_not_a_duplicate() -> None:
    # a returned order contacted again: "on the way" twice, two events, two notices
    twice = [notified("T1", "师傅已出发", "status:1"), notified("T1", "师傅已出发", "status:2")]
    assert judge_outbound(twice, [sms("师傅已出发"), sms("师傅已出发")], [], now=LATE).sms_duplicates == 0


def test_a_due_notice_never_sent_is_lost_but_one_held_by_the_quiet_window_is_not_yet() -> None:
    due = notified("T1", "工单 A 已派单", "status:1", at=EARLY)
    held = notified("T2", "工单 B 已派单", "status:2", at=LATE + timedelta(hours=9))
    verdict = judge_outbound([due, held], [], [], now=LATE)
    assert verdict.sms_lost == ["T1"] and verdict.notices_due == 1
    whole = judge(handled("T1"), ["T1"])
    whole.add_outbound(verdict)
    assert whole.lost == 1


def test_a_webhook_retried_under_its_delivery_id_is_a_redelivery_and_a_second_id_a_duplicate() -> None:
    dispatched = event(TicketDispatched, "T1")
    dispatched = dispatched.model_copy(update={"branch": "demo"})
    key = str(dispatched.event_id)
    retried = judge_outbound([dispatched], [], [(key, "7"), (key, "7")], now=LATE)
    assert (retried.webhook_redeliveries, retried.webhook_duplicates, retried.webhooks_lost) == (1, 0, [])
    doubled = judge_outbound([dispatched], [], [(key, "7"), (key, "8")], now=LATE)
    assert doubled.webhook_duplicates == 1
    assert judge_outbound([dispatched], [], [], now=LATE).webhooks_lost == [key]
