"""The read model's batches (issue 18's rebuild speed): one batch of everything equals one event at a time."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import select

from services.reporting.bootstrap import ReportingService, build_service, migrate
from services.reporting.store import ReportClock, ReportFact, ReportTicket, ReportUnit
from services.reporting.worker import ReportingEventsHandler
from shared.clock import FixedClock
from shared.runtime import ServiceSettings
from tests.unit.reporting.traffic import traffic


async def _rows(service: ReportingService) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with service.sessions() as session:
        for model in (ReportTicket, ReportClock, ReportFact, ReportUnit):
            columns = [c for c in model.__table__.columns]
            rows = (await session.execute(select(*columns))).all()
            out[model.__tablename__] = sorted(tuple(map(str, r)) for r in rows)
    return out


async def test_one_batch_of_a_whole_history_gives_the_rows_of_one_event_at_a_time(
    tmp_path: Path, service: ReportingService, consume: ReportingEventsHandler, clock: FixedClock
) -> None:
    events = traffic(seed=18, tickets=80)  # returns, closes on the call, reopenings, breaches from the other topic
    for event in events:
        await consume([event])
    url = f"sqlite+aiosqlite:///{tmp_path / 'batched.db'}"
    await asyncio.to_thread(migrate, url)
    batched = build_service(ServiceSettings(state_dir=tmp_path), database_url=url, clock=clock)
    try:
        handler = ReportingEventsHandler(batched.sessions, clock, batched.hot_spot_rules)
        await handler(events[:1])
        await handler(events + events[5:40])  # the whole history at once, with twins already seen in the batch
        one_by_one, at_once = await _rows(service), await _rows(batched)
    finally:
        await batched.close()
    assert len(one_by_one["report_tickets"]) == 80
    assert len(one_by_one["report_facts"]) > 80 and any(r[3] == "void" for r in one_by_one["report_clocks"])
    assert at_once == one_by_one
