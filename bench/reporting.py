"""Reporting: the rebuild rate from real Kafka topics (events/s), and the time to publish a month's bulletin.

    python bench/reporting.py                              # rebuild 300 tickets' events; bulletin of 100,000 tickets
    python bench/reporting.py --rebuild-tickets 300 --bulletin-tickets 100000
    python bench/reporting.py --rebuild-url postgresql+asyncpg://.../empty_db --bulletin-tickets 0   # rebuild only

Rebuild: the seeded whole-ticket stories of the reporting tests (tests/unit/reporting/traffic.py: dispatch,
returns, extensions, breaches, callbacks, surveys, reopenings) are produced to two fresh topics of the broker
($KAFKA_BOOTSTRAP, else the local one at 127.0.0.1:19092), then `rebuild` reads them from the beginning into a
fresh store through the live consumer's handler; the rate is events read / wall time. Bulletin: a fresh
store gets N tickets of one month bulk-loaded as read-model rows (each with its clocks and a few facts, in
proportions like the stories'), then the month's branch bulletin is published: the figures' SQL, the
ranking, the chart, the PDF and the Excel file. Prints JSON; no figure is asserted. Short runs only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.reporting.bootstrap import build_service, migrate  # noqa: E402
from services.reporting.handlers.bulletins import BulletinRequest, publish  # noqa: E402
from services.reporting.rebuild import rebuild  # noqa: E402
from services.reporting.store import ReportClock, ReportFact, ReportTicket, ReportUnit  # noqa: E402
from shared.bus import make_producer  # noqa: E402
from shared.clock import FixedClock, SystemClock  # noqa: E402
from shared.events import Topic, encode  # noqa: E402
from shared.runtime import ServiceSettings  # noqa: E402
from shared.topics import ensure_topics  # noqa: E402
from shared.zones import branch_zone  # noqa: E402
from tests.unit.reporting.traffic import traffic  # noqa: E402

MONTH = date(2026, 11, 1)
UNITS = [f"U-{i:02d}" for i in range(24)]
CLOCKS = ("dispatch", "contact", "resolve", "callback")


async def bench_rebuild(bootstrap: str, tickets: int, url: str) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:8]
    names = {Topic.TICKETS.value: f"bench-reporting-tickets-{suffix}", Topic.SLA.value: f"bench-reporting-sla-{suffix}"}
    await ensure_topics(bootstrap, {name: 3 for name in names.values()})
    events = traffic(seed=2026, tickets=tickets)
    producer = make_producer(bootstrap, "bench-reporting")
    await producer.start()
    try:
        for event in events:
            await producer.send(names[event.topic], encode(event), key=event.key.encode())
        await producer.flush()
    finally:
        await producer.stop()
    service = build_service(ServiceSettings(kafka_bootstrap=bootstrap), database_url=url, clock=SystemClock())
    try:
        result = await rebuild(service, list(names.values()))
    finally:
        await service.close()
        await _delete_topics(bootstrap, list(names.values()))
    return {
        "tickets": result.tickets,
        "events": result.events,
        "seconds": round(result.seconds, 2),
        "events_per_second": round(result.events / result.seconds, 1) if result.seconds else None,
    }


async def _delete_topics(bootstrap: str, names: list[str]) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(names)
    finally:
        await admin.close()


def _rows(n: int, rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    zone = branch_zone("demo")
    tickets, clocks, facts = [], [], []
    for i in range(n):
        ticket = f"BENCH-{i:07d}"
        at = datetime(2026, 11, 1, tzinfo=zone) + timedelta(seconds=rng.randint(0, 29 * 86_400))
        day = at.date()
        unit = rng.choice(UNITS)
        complaint = rng.random() < 0.08
        tickets.append(
            {
                "ticket_id": ticket,
                "branch": "demo",
                "category": "complaint" if complaint else rng.choice(["repair", "consultation", "query"]),
                "channel": rng.choice(["phone", "cti", "12345", "callback"]),
                "received_at": at,
                "received_day": day,
                "received_week": day - timedelta(days=day.weekday()),
                "received_month": MONTH,
                "unit_id": unit,
                "division_id": f"D-{UNITS.index(unit) % 4}",
                "resolved_on_first_contact": rng.random() < 0.2,
                "complaint_level": rng.choice([1, 2, 3, 3, 3]) if complaint else None,
                "collective": False,
                "repeat": complaint and rng.random() < 0.1,
                "reopen_count": 1 if rng.random() < 0.05 else 0,
                "replied_at": at + timedelta(hours=5),
            }
        )
        for clock in CLOCKS:
            outcome = "breached" if rng.random() < 0.06 else "met"
            clocks.append({"ticket_id": ticket, "clock": clock, "branch": "demo", "outcome": outcome, "unit_id": unit})
            if outcome == "breached":
                facts.append(_fact(ticket, f"breach:{clock}", unit, at, rng.randint(60, 90_000)))
        facts.append(_fact(ticket, "dispatched", unit, at, None))
        if rng.random() < 0.7:
            facts.append(_fact(ticket, "survey", unit, at, rng.randint(1, 5)))
    return tickets, clocks, facts


def _fact(ticket: str, kind: str, unit: str, at: datetime, value: int | None) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4(),
        "ticket_id": ticket,
        "branch": "demo",
        "kind": kind,
        "unit_id": unit,
        "occurred_at": at,
        "value": value,
    }


async def bench_bulletin(tickets: int, url: str) -> dict[str, Any]:
    await asyncio.to_thread(migrate, url)
    clock = FixedClock(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    service = build_service(ServiceSettings(), database_url=url, clock=clock)
    try:
        ticket_rows, clock_rows, fact_rows = _rows(tickets, random.Random(18))
        loaded = time.perf_counter()
        async with service.sessions() as session, session.begin():
            for model, rows in ((ReportTicket, ticket_rows), (ReportClock, clock_rows), (ReportFact, fact_rows)):
                for start in range(0, len(rows), 5_000):
                    await session.execute(insert(model), rows[start : start + 5_000])
            units = [{"branch": "demo", "unit_id": u, "division_id": f"D-{i % 4}"} for i, u in enumerate(UNITS)]
            await session.execute(insert(ReportUnit), units)
        load_seconds = time.perf_counter() - loaded
        started = time.perf_counter()
        async with service.sessions() as session, session.begin():
            bulletin, _ = await publish(
                session, None, BulletinRequest("demo", "month", MONTH), clock, branch_zone("demo")
            )
        seconds = time.perf_counter() - started
        return {
            "tickets": bulletin.tickets,
            "clocks": len(clock_rows),
            "facts": len(fact_rows),
            "load_seconds": round(load_seconds, 1),
            "bulletin_seconds": round(seconds, 2),
            "pdf_bytes": len(bulletin.pdf),
            "xlsx_bytes": len(bulletin.xlsx),
        }
    finally:
        await service.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild-tickets", type=int, default=300)
    parser.add_argument("--bulletin-tickets", type=int, default=100_000, help="0: no bulletin")
    parser.add_argument("--rebuild-url", default="", help="an empty database to rebuild into (default: SQLite)")
    args = parser.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    with tempfile.TemporaryDirectory() as folder:
        url = args.rebuild_url or f"sqlite+aiosqlite:///{folder}/rebuild.db"
        rebuilt = await bench_rebuild(bootstrap, args.rebuild_tickets, url)
        bulletin = None
        if args.bulletin_tickets > 0:
            bulletin = await bench_bulletin(args.bulletin_tickets, f"sqlite+aiosqlite:///{folder}/bulletin.db")
    print(  # noqa: T201 - the benchmark's output
        json.dumps(
            {
                "machine": {
                    "cpus": os.cpu_count(),
                    "load_average": os.getloadavg(),
                    "python": platform.python_version(),
                },
                "database": url.split("://")[0] if args.rebuild_url else "sqlite (the embedded default)",
                "rebuild": rebuilt,
                "month_bulletin": bulletin,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
