"""Concurrent creates share the API's single writer: one transaction, gapless numbers, a failure rolled back alone."""

from __future__ import annotations

import asyncio
from datetime import date

import httpx
import pytest
from sqlalchemy import func, select

from services.intake import store
from services.intake.bootstrap import Intake
from services.intake.store import Outbox, Ticket
from services.intake.writer import CreateWriter
from tests.unit.intake.conftest import AGENT, repair, statements_of


async def test_concurrent_creates_get_gapless_numbers_each_with_its_event(
    client: httpx.AsyncClient, intake: Intake
) -> None:
    answers = await asyncio.gather(*(client.post("/api/v1/tickets", json=repair(), headers=AGENT) for _ in range(24)))
    assert [a.status_code for a in answers] == [201] * 24
    serials = sorted(int(a.json()["ticket_number"].rsplit("-", 1)[1]) for a in answers)
    assert serials == list(range(1, 25))
    async with intake.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 24
        assert await session.scalar(select(func.count()).select_from(Outbox)) == 24


async def test_a_create_that_fails_in_a_batch_is_rolled_back_alone_with_its_number(intake: Intake) -> None:
    writer = CreateWriter(intake.sessions)
    started = asyncio.Event()

    async def number(session: object) -> int:
        await started.wait()  # every job is queued before the first batch runs: they share one transaction
        return await store.next_ticket_number(session, "demo", date(2026, 11, 27))  # type: ignore[arg-type]

    async def number_then_fail(session: object) -> int:
        await number(session)
        raise ValueError("this work order was refused")

    jobs = [asyncio.ensure_future(writer.submit(number_then_fail if i == 2 else number)) for i in range(6)]
    await asyncio.sleep(0.05)
    started.set()
    results = await asyncio.gather(*jobs, return_exceptions=True)
    await writer.close()
    assert isinstance(results[2], ValueError)
    assert sorted(r for r in results if isinstance(r, int)) == [1, 2, 3, 4, 5]  # no gap where the refused one was
    async with intake.sessions() as session:
        assert await store.next_ticket_number(session, "demo", date(2026, 11, 27)) == 6
        await session.rollback()


@pytest.mark.parametrize("size", [1, 5])
async def test_the_writer_answers_only_after_its_commit(intake: Intake, size: int) -> None:
    writer = CreateWriter(intake.sessions)

    async def count_then_number(session: object) -> int:
        return await store.next_ticket_number(session, "demo", date(2026, 11, 27))  # type: ignore[arg-type]

    numbers = await asyncio.gather(*(writer.submit(count_then_number) for _ in range(size)))
    await writer.close()
    async with intake.sessions() as session:  # another session sees every answered number: it was committed
        last = await session.scalar(select(store.TicketNumberCounter.last))
    assert last == max(numbers) == size


async def test_a_batch_of_creates_that_all_succeed_is_written_without_savepoints_each_table_at_once(
    client: httpx.AsyncClient, intake: Intake
) -> None:
    with statements_of(intake) as statements:
        answers = await asyncio.gather(
            *(client.post("/api/v1/tickets", json=repair(), headers=AGENT) for _ in range(24))
        )
    assert [a.status_code for a in answers] == [201] * 24
    serials = sorted(int(a.json()["ticket_number"].rsplit("-", 1)[1]) for a in answers)
    assert serials == list(range(1, 25))
    assert not [s for s in statements if s.startswith("SAVEPOINT")]
    # the batches' tickets went out a statement per batch, not one per ticket
    inserts = [s for s in statements if s.startswith("INSERT INTO tickets ")]
    assert len(inserts) < 24, len(inserts)
