"""Callback scheduling and claiming throughput on PostgreSQL, as JSON.

    python bench/callback_throughput.py                       # 2000 tickets, 8 concurrent claimers
    python bench/callback_throughput.py --tickets 5000 --claimers 16 --batch 500

Scheduling: approved replies (with their receipt, dispatch and reply events) go through the worker's
batch handler (inbox, policy, task rows, outbox rows in one transaction per batch): tasks/s.
Claiming: every task is due; `--claimers` agents at once each read the top `--window` of the queue and
claim one of them (the conditional UPDATE), retrying on a lost race: claims/s and lost races. No Kafka is needed.
Uses $DATABASE_URL when set, else the local server (`hotline infra`); a fresh database per run,
dropped at the end. Bounded by `--tickets` and by `--max-seconds` per phase.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from hotline.infra.harness import server_for_session
from hotline.infra.settings import InfraSettings
from services.callback.bootstrap import MIGRATIONS, build_service
from services.callback.handlers import Conflict, Policies, claim_callback
from services.callback.settings import CallbackSettings
from services.callback.store import CallbackTask, due_callbacks
from services.callback.worker import TicketEventsHandler
from shared.clock import FixedClock
from shared.db import upgrade_database
from shared.events import (
    CallbackPreference,
    CustomerDetails,
    Event,
    ReplyApproved,
    TicketDispatched,
    TicketReceived,
    TicketReplied,
    new_event,
)
from shared.policy.categories import Category
from shared.runtime import ServiceSettings

REPLY_AT = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Wednesday


def story(ticket_id: str) -> list[Event[Any]]:
    payloads = [
        TicketReceived(
            channel="phone",
            category=Category.REPAIR,
            received_at=REPLY_AT - timedelta(hours=20),
            customer=CustomerDetails(name="王五", phone="13712345678"),
            callback=CallbackPreference(),
        ),
        TicketDispatched(unit_id="U1", division_id="D1", category=Category.REPAIR, mode="automatic"),
        TicketReplied(reply_id="R1", unit_id="U1", handler_id="h1", result="已修复"),
        ReplyApproved(reply_id="R1", unit_id="U1", reviewer_id="sup", reply_received_at=REPLY_AT),
    ]
    return [
        new_event(p, ticket_id=ticket_id, branch="default", producer="bench", correlation_id="b", occurred_at=REPLY_AT)
        for p in payloads
    ]


async def admin(server_url: str, statement: str) -> None:
    import asyncpg

    url = make_url(server_url)
    connection = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database=url.database
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def run(server_url: str, args: argparse.Namespace) -> dict[str, Any]:
    name = f"bench_callback_{uuid.uuid4().hex[:8]}"
    await admin(server_url, f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade_database, url, MIGRATIONS)
        clock = FixedClock(REPLY_AT + timedelta(minutes=5))
        service = build_service(ServiceSettings(), CallbackSettings(), database_url=url, clock=clock)
        try:
            return {
                "scheduling": await schedule(service, clock, args),
                "claiming": await claim_all(service, clock, args),
            }
        finally:
            await service.close()
    finally:
        await admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def schedule(service: Any, clock: FixedClock, args: argparse.Namespace) -> dict[str, Any]:
    handler = TicketEventsHandler(service.sessions, clock, Policies.load())
    events = [event for _ in range(args.tickets) for event in story(str(uuid.uuid4()))]
    deadline = time.perf_counter() + args.max_seconds
    started = time.perf_counter()
    handled = 0
    for first in range(0, len(events), args.batch):
        await handler(events[first : first + args.batch])
        handled += min(args.batch, len(events) - first)
        if time.perf_counter() > deadline:
            break
    elapsed = time.perf_counter() - started
    async with service.sessions() as session:
        tasks = int(await session.scalar(select(func.count()).select_from(CallbackTask)) or 0)
    return {
        "events": handled,
        "tasks": tasks,
        "batch": args.batch,
        "seconds": round(elapsed, 3),
        "events_per_second": round(handled / elapsed, 1),
        "tasks_per_second": round(tasks / elapsed, 1),
    }


async def claim_all(service: Any, clock: FixedClock, args: argparse.Namespace) -> dict[str, Any]:
    lease = timedelta(minutes=15)
    claimed: list[str] = []
    lost = 0
    deadline = time.perf_counter() + args.max_seconds

    async def agent(number: int) -> None:
        nonlocal lost
        subject = f"agent-{number}"
        while time.perf_counter() < deadline:
            async with service.sessions() as session:
                head = await due_callbacks(
                    session, branch="default", now=clock.now(), quiet_now=False, limit=args.window
                )
            if not head:
                return
            task, _ = random.choice(head)  # an agent picks from the top of the list it sees
            try:
                async with service.sessions() as session, session.begin():
                    await claim_callback(
                        session,
                        callback_id=task.id,
                        agent_id=subject,
                        branch="default",
                        now=clock.now(),
                        lease=lease,
                        policies=service.policies,
                    )
                claimed.append(task.id)
            except Conflict:
                lost += 1  # another agent took the head first: take the next one

    started = time.perf_counter()
    await asyncio.gather(*(agent(i) for i in range(args.claimers)))
    elapsed = time.perf_counter() - started
    return {
        "claimers": args.claimers,
        "window": args.window,
        "claims": len(claimed),
        "duplicates": len(claimed) - len(set(claimed)),
        "lost_races": lost,
        "seconds": round(elapsed, 3),
        "claims_per_second": round(len(claimed) / elapsed, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=500, help="events per consumed batch")
    parser.add_argument("--claimers", type=int, default=8)
    parser.add_argument("--window", type=int, default=10, help="queue items each agent sees (1: all race the head)")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="bound of each phase")
    args = parser.parse_args()
    with server_for_session("postgres", InfraSettings()) as server_url:
        result = asyncio.run(run(server_url, args))
    result["python"] = sys.version.split()[0]
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
