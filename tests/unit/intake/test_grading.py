"""Complaint grading in Faust test contexts (memory store): RULES.md §4 scenarios end to end through both agents."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.intake.app import ComplaintGrading
from services.intake.handlers import Policies
from services.intake.settings import GradingSettings
from shared.branch_config import load_calendar
from shared.clock import FixedClock
from shared.events import (
    ComplaintDetails,
    CustomerDetails,
    Event,
    TicketClosed,
    TicketReceived,
    Topic,
    decode,
    encode,
    new_event,
)
from shared.policy.categories import Category
from shared.policy.limits import ComplaintLevel
from tests.unit.intake.conftest import NOW

SUBJECT = "demo|民族大道100号|meter_reading"


class Wire:
    """Stands in for Kafka between the two agents and for hotline.tickets on the way out."""

    def __init__(self) -> None:
        self.forwarded: list[tuple[bytes, bytes]] = []
        self.published: list[Event[Any]] = []

    async def forward(self, key: bytes, value: bytes) -> None:
        self.forwarded.append((key, value))

    async def publish(self, topic: Topic, key: bytes, value: bytes) -> None:
        assert topic is Topic.TICKETS
        event = decode(value)
        assert key == event.key.encode()
        self.published.append(event)

    def grades(self) -> list[tuple[str, int]]:
        return [(e.ticket_id, int(e.payload.level)) for e in self.published]


@pytest.fixture
def wire() -> Wire:
    return Wire()


@pytest.fixture
async def grading(tmp_path: Path, wire: Wire) -> ComplaintGrading:
    return ComplaintGrading(
        GradingSettings(store="memory://"),
        "127.0.0.1:1",
        FixedClock(NOW),
        Policies(load_calendar()),
        partitions=2,
        datadir=str(tmp_path),
        publish=wire.publish,
        forward=wire.forward,
    )


def complaint(
    ticket: str, phone: str, at: datetime, *, litigation: bool = False, preliminary: int | None = None, **facts: Any
) -> Event[Any]:
    level = ComplaintLevel.MAJOR if litigation else ComplaintLevel(preliminary or 3)
    payload = TicketReceived(
        channel="phone",
        category=Category.COMPLAINT,
        received_at=at,
        customer=CustomerDetails(phone=phone),
        complaint=ComplaintDetails(
            subject_key=SUBJECT,
            place="民族大道100号",
            complaint_type="meter_reading",
            litigation=litigation,
            level=level,
            preliminary_level=ComplaintLevel(preliminary) if preliminary else None,
            **facts,
        ),
    )
    return new_event(payload, ticket_id=ticket, branch="demo", producer="intake", correlation_id=ticket, occurred_at=at)


def closed(ticket: str, at: datetime) -> Event[Any]:
    return new_event(
        TicketClosed(reason="callback_completed"),
        ticket_id=ticket,
        branch="demo",
        producer="callback",
        correlation_id=ticket,
        occurred_at=at,
    )


async def feed(grading: ComplaintGrading, wire: Wire, events: list[Event[Any]]) -> None:
    """Each event through the router, then what it forwarded through the tracker, like the real topics."""
    async with grading.router.test_context() as router:
        for event in events:
            await router.put(encode(event), key=event.key.encode())
    async with grading.tracker.test_context() as tracker:
        for key, value in wire.forwarded:
            await tracker.put(value, key=key)
    wire.forwarded.clear()


def phone(i: int) -> str:
    return f"1380013800{i}"


async def test_four_complainants_stay_level_3_and_the_fifth_lifts_every_open_one(
    grading: ComplaintGrading, wire: Wire
) -> None:
    await feed(grading, wire, [complaint(f"T{i}", phone(i), NOW + timedelta(days=i)) for i in range(4)])
    assert wire.published == []
    await feed(grading, wire, [complaint("T4", phone(4), NOW + timedelta(days=10))])
    assert sorted(wire.grades()) == [("T0", 2), ("T1", 2), ("T2", 2), ("T3", 2), ("T4", 2)]
    lifted = next(e for e in wire.published if e.ticket_id == "T0").payload
    assert lifted.previous_level == ComplaintLevel.MINOR and lifted.subject_key == SUBJECT
    assert [r.value for r in lifted.reasons] == ["distinct_complainants_in_window"]


async def test_five_complainants_over_31_days_do_not_lift_the_subject(grading: ComplaintGrading, wire: Wire) -> None:
    days = (0, 8, 16, 24, 30)  # the 30-day window of the last one starts the day after the first
    await feed(grading, wire, [complaint(f"T{i}", phone(i), NOW + timedelta(days=d)) for i, d in enumerate(days)])
    assert wire.published == []


async def test_the_same_customers_fifth_complaint_is_level_1(grading: ComplaintGrading, wire: Wire) -> None:
    await feed(grading, wire, [complaint(f"T{i}", phone(1), NOW + timedelta(days=i * 20)) for i in range(4)])
    assert wire.published == []
    await feed(grading, wire, [complaint("T4", phone(1), NOW + timedelta(days=90))])
    assert sorted(wire.grades()) == [("T0", 1), ("T1", 1), ("T2", 1), ("T3", 1), ("T4", 1)]


async def test_a_litigation_flag_gives_level_1_at_once(grading: ComplaintGrading, wire: Wire) -> None:
    await feed(grading, wire, [complaint("T0", phone(0), NOW)])
    await feed(grading, wire, [complaint("T1", phone(1), NOW + timedelta(hours=1), litigation=True)])
    assert sorted(wire.grades()) == [("T0", 1), ("T1", 1)]
    new = next(e for e in wire.published if e.ticket_id == "T1").payload
    assert new.previous_level == ComplaintLevel.MAJOR and [r.value for r in new.reasons] == ["litigation"]


async def test_closed_complaints_are_not_regraded_and_a_redelivery_changes_nothing(
    grading: ComplaintGrading, wire: Wire
) -> None:
    first = [complaint(f"T{i}", phone(i), NOW + timedelta(days=i)) for i in range(4)]
    await feed(grading, wire, [*first, closed("T0", NOW + timedelta(days=5))])
    fifth = complaint("T4", phone(4), NOW + timedelta(days=6))
    await feed(grading, wire, [fifth])
    assert sorted(wire.grades()) == [("T1", 2), ("T2", 2), ("T3", 2), ("T4", 2)]
    await feed(grading, wire, [fifth])
    assert len(wire.published) == 4


async def test_grades_never_drop_and_the_agents_own_grade_stays_with_its_complaint(
    grading: ComplaintGrading, wire: Wire
) -> None:
    await feed(grading, wire, [complaint("T0", phone(0), NOW)])
    await feed(grading, wire, [complaint("T1", phone(1), NOW + timedelta(hours=1), preliminary=2)])
    assert wire.grades() == [("T1", 2)]  # the agent's grade is kept; it does not lift the subject
    await feed(grading, wire, [complaint("T2", phone(2), NOW + timedelta(hours=2), litigation=True)])
    assert sorted(wire.grades()) == [("T0", 1), ("T1", 1), ("T1", 2), ("T2", 1)]
    ids = [e.event_id for e in wire.published]
    assert len(set(ids)) == len(ids)
