"""The Faust agent in a test context (memory store, no broker): ticket events and ticks in, SLA events out."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from services.sla_monitor.settings import MonitorSettings
from services.sla_monitor.worker import RECOMPUTE, TICK, SlaMonitor
from shared.branch_config import BranchPolicies, load_branch, load_calendar
from shared.clock import FixedClock
from shared.events import Event, Payload, SlaBreached, SlaDeadlineMoved, Topic, decode, encode
from shared.policy.calendar import YearSchedule
from tests.unit.sla_monitor.builders import at, contacted, dispatched, received, wrap


class Sink:
    """Collects what the monitor would publish."""

    def __init__(self) -> None:
        self.sent: list[tuple[Topic, bytes, Event[Payload]]] = []

    async def __call__(self, topic: Topic, key: bytes, value: bytes) -> None:
        self.sent.append((topic, key, decode(value)))

    def types(self) -> list[str]:
        return [event.type for _, _, event in self.sent]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(at("2026-11-02 09:00"))


@pytest.fixture
def calendar_years() -> list[YearSchedule]:
    return []


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
async def monitor(tmp_path: Path, clock: FixedClock, sink: Sink, calendar_years) -> SlaMonitor:
    book = BranchPolicies(
        branch_loader=load_branch, calendar_loader=lambda: load_calendar().with_schedules(calendar_years)
    )
    return SlaMonitor(
        MonitorSettings(store="memory://"),
        "127.0.0.1:1",
        clock,
        book,
        partitions=2,
        datadir=str(tmp_path),
        publish=sink,
    )


async def put(agent, payload: Payload, when, ticket: str = "T-1", partition: int = 0) -> None:  # type: ignore[no-untyped-def]
    await agent.put(encode(wrap(payload, when, ticket_id=ticket)), key=ticket.encode(), partition=partition)


async def test_breach_is_produced_once_on_the_tick_after_the_deadline(monitor, clock, sink):
    async with monitor.agent.test_context() as agent:
        await put(agent, received(at("2026-11-02 09:00")), at("2026-11-02 09:00"))
        await agent.put(TICK, partition=0)
        assert sink.sent == []
        clock.advance(timedelta(minutes=4, seconds=1))
        await agent.put(TICK, partition=0)
        assert sink.types() == ["SlaWarning"]
        clock.advance(timedelta(minutes=1))
        for _ in range(3):
            await agent.put(TICK, partition=0)
        assert sink.types() == ["SlaWarning", "SlaBreached", "SlaEscalated"]
        topic, key, breach = sink.sent[1]
        assert (topic, key) == (Topic.SLA, b"T-1")
        assert isinstance(breach.payload, SlaBreached) and breach.payload.late_by_seconds == pytest.approx(1.0)


async def test_a_tick_only_touches_its_own_partition_and_stopped_clocks_owe_nothing(monitor, clock, sink):
    async with monitor.agent.test_context() as agent:
        await put(agent, received(at("2026-11-02 09:00")), at("2026-11-02 09:00"), ticket="A", partition=0)
        await put(agent, received(at("2026-11-02 09:00")), at("2026-11-02 09:00"), ticket="B", partition=1)
        await put(agent, dispatched(), at("2026-11-02 09:02"), ticket="B", partition=1)
        await put(agent, contacted(at("2026-11-02 09:30")), at("2026-11-02 09:30"), ticket="B", partition=1)
        clock.set(at("2026-11-02 09:10"))
        await agent.put(TICK, partition=1)
        assert sink.sent == []
        await agent.put(TICK, partition=0)
        assert {event.ticket_id for _, _, event in sink.sent} == {"A"}
        assert monitor.counts()["open_timers"] == 1 + 1  # A: dispatch; B: resolve
        assert [t.ticket_id for t in monitor.due_within(60 * 24 * 4)] == ["B"]


async def test_an_event_that_arrives_after_the_deadline_is_caught_by_the_next_tick(monitor, clock, sink):
    clock.set(at("2026-11-02 12:00"))
    async with monitor.agent.test_context() as agent:
        await agent.put(TICK, partition=0)
        await put(agent, received(at("2026-11-02 09:00")), at("2026-11-02 09:00"))
        await agent.put(TICK, partition=0)
        assert sink.types() == ["SlaBreached", "SlaEscalated"]


async def test_undecodable_messages_go_to_the_dead_letter_topic(monitor, sink):
    sent = []

    async def capture(*, key, value):  # type: ignore[no-untyped-def]
        sent.append((key, value))

    monitor.deadletters.send = capture  # type: ignore[method-assign]
    async with monitor.agent.test_context() as agent:
        await agent.put(b'{"type": "NoSuchEvent", "version": 1}', key=b"T-9", partition=0)
    assert len(sent) == 1 and sink.sent == []


@pytest.mark.parametrize("calendar_years", [[]])
async def test_recompute_moves_provisional_deadlines_when_the_year_is_loaded(monitor, clock, sink, calendar_years):
    clock.set(at("2026-12-31 15:00"))
    async with monitor.agent.test_context() as agent:
        await put(agent, received(at("2026-12-31 14:50"), "consultation"), at("2026-12-31 14:50"))
        await put(agent, dispatched("consultation"), at("2026-12-31 15:00"))
        ticket = monitor.ticket("T-1")
        assert ticket is not None and ticket.running()[-1].provisional
        calendar_years.append(YearSchedule(2027, {date(2027, 1, 1): "New Year's Day"}, {}))
        await agent.put(RECOMPUTE, partition=0)
        moved = [event.payload for _, _, event in sink.sent]
        assert len(moved) == 1 and isinstance(moved[0], SlaDeadlineMoved)
        assert moved[0].deadline == at("2027-01-04 15:00") and not moved[0].provisional
        clock.set(at("2027-01-01 15:00:01"))
        await agent.put(TICK, partition=0)
        assert "SlaBreached" not in sink.types()
