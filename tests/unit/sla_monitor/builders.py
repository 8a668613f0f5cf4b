"""Event builders for the SLA monitor's tests: one ticket's lifecycle, instants given by the test."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from shared.events import (
    CallbackAttempted,
    ComplaintDetails,
    ComplaintGraded,
    CustomerContacted,
    Event,
    ExtensionGranted,
    Payload,
    ReplyApproved,
    ReplyRejected,
    TicketClosed,
    TicketDispatched,
    TicketReceived,
    TicketReopened,
    TicketReplied,
    TicketReturned,
    TicketReturnRefused,
    new_event,
)
from shared.policy import Category, ComplaintLevel, SlaClock
from shared.policy.grading import GradeReason

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """'2026-09-30 15:00' in Shanghai time."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def wrap(payload: Payload, when: datetime, ticket_id: str = "T-1", branch: str = "default") -> Event[Payload]:
    return new_event(
        payload, ticket_id=ticket_id, branch=branch, producer="test", correlation_id="c-1", occurred_at=when
    )


def received(when: datetime, category: str = "repair", level: int = 3, **extra: Any) -> TicketReceived:
    complaint = None
    subtype = "installation" if category == "service_request" else None
    if category == "complaint":
        complaint = ComplaintDetails(
            subject_key="default|north|gas_price", place="north", complaint_type="gas_price", level=level
        )
    return TicketReceived(
        channel="phone", category=Category(category), subtype=subtype, received_at=when, complaint=complaint, **extra
    )


def dispatched(category: str = "repair", level: int | None = None, count: int = 1) -> TicketDispatched:
    return TicketDispatched(
        unit_id="U-7",
        division_id="D-2",
        category=Category(category),
        subtype="installation" if category == "service_request" else None,
        complaint_level=None if level is None else ComplaintLevel(level),
        mode="automatic",
        dispatch_count=count,
    )


def contacted(when: datetime) -> CustomerContacted:
    return CustomerContacted(unit_id="U-7", handler_id="h-1", contacted_at=when, method="phone")


def replied() -> TicketReplied:
    return TicketReplied(reply_id="r-1", unit_id="U-7", handler_id="h-1", result="fixed")


def rejected() -> ReplyRejected:
    return ReplyRejected(reply_id="r-1", unit_id="U-7", reviewer_id="s-1", reason="incomplete")


def approved(received_at: datetime) -> ReplyApproved:
    return ReplyApproved(reply_id="r-1", unit_id="U-7", reviewer_id="s-1", reply_received_at=received_at)


def attempted() -> CallbackAttempted:
    return CallbackAttempted(callback_id="cb-1", attempt_number=1, agent_id="a-1", outcome="reached")


def returned() -> TicketReturned:
    return TicketReturned(unit_id="U-7", handler_id="h-1", reason="outside_duties")


def return_refused() -> TicketReturnRefused:
    return TicketReturnRefused(unit_id="U-7", supervisor_id="s-1")


def extended(clock: str, new_deadline: datetime) -> ExtensionGranted:
    return ExtensionGranted(
        request_id="x-1", unit_id="U-7", clock=SlaClock(clock), new_deadline=new_deadline, supervisor_id="s-1"
    )


def graded(level: int, previous: int = 3) -> ComplaintGraded:
    return ComplaintGraded(
        level=ComplaintLevel(level),
        previous_level=ComplaintLevel(previous),
        subject_key="default|north|gas_price",
        reasons=(GradeReason.MEDIA,) if level == 1 else (GradeReason.DISTINCT_COMPLAINANTS,),
    )


def reopened() -> TicketReopened:
    return TicketReopened(
        unit_id="U-7", reason="reply_does_not_match_facts", customer_account="still leaking", agent_id="a-1"
    )


def closed() -> TicketClosed:
    return TicketClosed(reason="callback_completed")
