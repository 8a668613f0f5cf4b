"""Story: the whole system started from cold, ten times, on fresh topics and ids (issue 13, item 1).

Each start is a new system on the broker: its own topics, consumer groups and Faust app ids, so neither
Faust app finds a changelog or repartition topic left by an earlier start. As soon as every process says
ready, both stream processors must act on the first event they get: the SLA monitor starts a new ticket's
timers (RULES.md §2: a repair's dispatch clock runs from receipt) and complaint grading lifts a litigation
complaint to level 1 (RULES.md §4).
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import launch_system
from tests.e2e.harness import System
from tests.e2e.steps import QINGXIU, Hotline, ticket_body

STARTS = int(os.environ.get("E2E_COLD_STARTS", "10"))
WITHIN = 60.0  # seconds after "ready" for the first event's effect: a dead stream processor never gets there


async def first_events_are_acted_on(system: System) -> None:
    desk = Hotline(system)
    repair = await desk.create(ticket_body("repair", QINGXIU[0], description="灶具打不着火"))
    complaint = ticket_body("complaint", QINGXIU[0], description="燃气公司被起诉")
    complaint["complaint"] = {"place": f"冷启动{uuid.uuid4().hex[:6]}", "complaint_type": "service", "litigation": True}
    litigation = await desk.create(complaint)

    async def dispatch_timer() -> bool:
        timer = await desk.timer(repair["ticket_id"], "dispatch")  # 404 / AssertionError until it is there
        return bool(timer["started_at"])

    await system.eventually(dispatch_timer, within=WITHIN, what="the SLA monitor's dispatch timer of a new ticket")
    graded = await desk.events.wait_for(litigation["ticket_id"], "ComplaintGraded", within=WITHIN)
    assert int(graded.payload.level) == 1


@pytest.mark.asyncio(loop_scope="session")
async def test_ten_cold_starts_each_act_on_their_first_events(
    kafka_bootstrap: str, database_url: str, tmp_path: Path
) -> None:
    timings: list[str] = []
    for start in range(STARTS):
        began = time.monotonic()
        async with launch_system(kafka_bootstrap, database_url, tmp_path / f"start-{start}", day_start=False) as system:
            ready = time.monotonic() - began
            await first_events_are_acted_on(system)
            acted = time.monotonic() - began
        timings.append(f"start {start + 1}: ready {ready:.1f} s, both acted {acted:.1f} s")
    print("\n".join(timings))  # noqa: T201 - the wall time per cold start, for the report
