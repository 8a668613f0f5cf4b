"""After downtime or a clock jump of days, a due check visits the buckets in use, not every second between."""

from __future__ import annotations

from datetime import timedelta

from services.sla_monitor.worker import LONG_GAP_BUCKETS, TICK
from tests.unit.sla_monitor.builders import at, received
from tests.unit.sla_monitor.test_agent import Sink, calendar_years, clock, monitor, put, sink  # noqa: F401  (fixtures)


async def test_a_check_three_days_late_fires_each_due_clock_once_without_walking_the_gap(monitor, clock, sink):  # noqa: F811
    visited: list[int] = []
    looked_up = monitor.index.ids

    def counting(partition: int, bucket: int) -> list[str]:
        visited.append(bucket)
        return looked_up(partition, bucket)

    monitor.index.ids = counting  # type: ignore[method-assign]
    async with monitor.agent.test_context() as agent:
        await put(agent, received(at("2026-11-02 09:00")), at("2026-11-02 09:00"), ticket="A")
        await put(agent, received(at("2026-11-02 09:00")), at("2026-11-02 09:00"), ticket="B")
        await agent.put(TICK, partition=0)
        visited.clear()
        clock.advance(timedelta(days=3))
        for _ in range(3):
            await agent.put(TICK, partition=0)
    breaches = sorted(event.ticket_id or "" for _, _, event in sink.sent if event.type == "SlaBreached")
    assert breaches == ["A", "B"]
    assert 0 < len(visited) < LONG_GAP_BUCKETS  # three days are 259 200 one-second buckets
