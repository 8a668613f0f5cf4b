"""The outbox relays only committed events, in order, and the inbox lets each event act once (SQLite)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.clock import FixedClock, ScaledClock
from shared.db import create_schema, make_engine, make_sessions, sqlite_url, transaction
from shared.events import TicketAccepted, decode, new_event
from shared.inbox import first_delivery, unseen
from shared.outbox import OutboxRelay, RenamingSender, stage
from tests.kit_models import KitBase, KitInbox, KitOutbox

pytestmark = pytest.mark.unit
T0 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(sqlite_url(tmp_path / "kit.db"))
    await create_schema(engine, KitBase.metadata)
    yield make_sessions(engine)
    await engine.dispose()


def accepted(ticket: str) -> Any:
    return new_event(
        TicketAccepted(unit_id="U1", handler_id="h1"),
        ticket_id=ticket,
        branch="GX",
        producer="test",
        correlation_id="c1",
        occurred_at=T0,
    )


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.fail = False

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None) -> asyncio.Future[None]:
        if self.fail:
            raise ConnectionError("broker down")
        assert value is not None and key is not None
        self.sent.append((topic, key, value))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def test_only_committed_events_are_relayed_in_order(sessions: async_sessionmaker[AsyncSession]) -> None:
    clock = FixedClock(T0)
    events = [accepted(f"T{i}") for i in range(5)]
    async with transaction(sessions) as session:
        stage(session, KitOutbox, events[:3], clock)

    async def failing_change() -> None:
        async with transaction(sessions) as session:
            stage(session, KitOutbox, events[3:], clock)
            raise RuntimeError("the state change failed")

    with pytest.raises(RuntimeError, match="state change failed"):
        await failing_change()
    sender = RecordingSender()
    relay = OutboxRelay("kit", sessions, KitOutbox, sender, clock, batch_size=2)
    assert await relay.relay_once() == 2
    assert await relay.relay_once() == 1
    assert await relay.relay_once() == 0
    assert [decode(v).event_id for _, _, v in sender.sent] == [e.event_id for e in events[:3]]
    assert [k for _, k, _ in sender.sent] == [b"T0", b"T1", b"T2"]
    assert {t for t, _, _ in sender.sent} == {"hotline.tickets"}
    assert await relay.pending() == 0


async def test_a_failed_send_keeps_the_rows_for_the_next_try(sessions: async_sessionmaker[AsyncSession]) -> None:
    clock = FixedClock(T0)
    async with transaction(sessions) as session:
        stage(session, KitOutbox, [accepted("T1")], clock)
    sender = RecordingSender()
    sender.fail = True
    relay = OutboxRelay("kit", sessions, KitOutbox, sender, clock)
    with pytest.raises(ConnectionError):
        await relay.relay_once()
    assert await relay.pending() == 1
    sender.fail = False
    assert await relay.relay_once() == 1 and await relay.pending() == 0


async def test_the_run_loop_relays_on_notify_and_stops(sessions: async_sessionmaker[AsyncSession]) -> None:
    clock = FixedClock(T0)
    sender = RecordingSender()
    relay = OutboxRelay("kit", sessions, KitOutbox, sender, clock, poll_interval=30)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    await asyncio.sleep(0.05)
    async with transaction(sessions) as session:
        stage(session, KitOutbox, [accepted("T9")], clock)
    relay.notify()
    # the poll interval is 30 s: a send well before it can only come from the nudge (generous for loaded CI)
    deadline = asyncio.get_running_loop().time() + 20
    while not sender.sent and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
    stop.set()
    relay.notify()
    await asyncio.wait_for(task, 20)
    assert [k for _, k, _ in sender.sent] == [b"T9"]


async def test_the_inbox_lets_an_event_act_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    event_id = uuid.uuid4()
    async with transaction(sessions) as session:
        assert await first_delivery(session, KitInbox, event_id, "TicketAccepted", T0)
    async with transaction(sessions) as session:
        assert not await first_delivery(session, KitInbox, event_id, "TicketAccepted", T0)
    other = uuid.uuid4()
    async with transaction(sessions) as session:
        fresh = await unseen(session, KitInbox, [(event_id, "A"), (other, "A"), (other, "A")], T0)
    assert fresh == {other}
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(KitInbox)) == 2


def test_scaled_clocks_in_two_processes_agree() -> None:
    real = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
    sim = datetime(2026, 9, 30, 12, 0, tzinfo=UTC)
    wall = real.timestamp() + 10
    first = ScaledClock(600, real, sim, _wall=lambda: wall)
    second = ScaledClock(600, real, sim, _wall=lambda: wall)
    assert first.now() == second.now() == sim + timedelta(seconds=6000)
    assert first.real_seconds(timedelta(minutes=10)) == 1.0


def test_naive_datetimes_are_refused_by_the_database_type() -> None:
    from shared.db import AwareDateTime

    with pytest.raises(ValueError, match="naive"):
        AwareDateTime().process_bind_param(datetime(2026, 1, 1), None)  # type: ignore[arg-type]  # noqa: DTZ001


async def test_the_one_sender_renames_the_topics_it_is_told_and_passes_the_others() -> None:
    by_map, by_function = RecordingSender(), RecordingSender()
    await RenamingSender(by_map, {"hotline.tickets": "run1.tickets"}).send("hotline.tickets", b"v", b"T1")
    await RenamingSender(by_map, {"hotline.tickets": "run1.tickets"}).send("hotline.sla", b"v", b"T1")
    await RenamingSender(by_function, lambda topic: f"x.{topic}").send("hotline.sla", b"v", b"T2")
    assert [t for t, _, _ in by_map.sent] == ["run1.tickets", "hotline.sla"]
    assert by_function.sent == [("x.hotline.sla", b"T2", b"v")]


def test_a_transaction_whose_connection_the_database_dropped_rolls_back_cleanly() -> None:
    # a PostgreSQL restart mid-request invalidates the connection; the outbox's end-of-transaction hook must not
    # make the rollback raise PendingRollbackError (the request then answered 500 instead of 503: issue 14)
    engine = create_engine("sqlite://")
    with engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(text("SELECT 1"))
        connection.invalidate()
        transaction.rollback()  # raised before the fix
        assert connection.invalidated
