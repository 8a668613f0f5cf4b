"""A busy second: far more tickets fall due in one second than one due-index entry holds; none is lost or doubled."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from services.sla_monitor.store import BUCKET_SHARD
from services.sla_monitor.worker import TICK
from tests.unit.sla_monitor.builders import at, received
from tests.unit.sla_monitor.test_agent import Sink, calendar_years, clock, monitor, put, sink  # noqa: F401  (fixtures)


async def test_every_ticket_of_a_crowded_second_breaches_once(monitor, clock, sink):  # noqa: F811
    count = BUCKET_SHARD * 2 + 7
    async with monitor.agent.test_context() as agent:
        for i in range(count):
            await put(agent, received(at("2026-11-02 09:00")), at("2026-11-02 09:00"), ticket=f"T-{i}")
        listed = {t.ticket_id for t in monitor.due_within(10)}
        assert listed == {f"T-{i}" for i in range(count)}
        clock.advance(timedelta(minutes=5, seconds=1))
        for _ in range(3):
            await agent.put(TICK, partition=0)
    breaches = Counter(event.ticket_id for _, _, event in sink.sent if event.type == "SlaBreached")
    assert set(breaches) == {f"T-{i}" for i in range(count)}
    assert set(breaches.values()) == {1}
