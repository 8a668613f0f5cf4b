"""The daily number reaches everything a create writes: the answer, the view, its history and the event; and a
create writes each of its rows once, numbered, without reading back what it has just made (issue 24)."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from services.intake.bootstrap import Intake
from services.intake.store import Outbox, Ticket, TicketHistory
from shared.events import decode
from tests.unit.intake.conftest import AGENT, repair, statements_of


async def test_the_number_reaches_the_event_the_view_and_the_history(client: httpx.AsyncClient, intake: Intake) -> None:
    answer = (await client.post("/api/v1/tickets", json=repair(), headers=AGENT)).json()
    number = answer["ticket_number"]
    assert number.startswith("DEMO-") and number.endswith("-000001")
    async with intake.sessions() as session:
        [row] = (await session.scalars(select(Outbox))).all()
        ticket = await session.get(Ticket, answer["ticket_id"])
        [history] = (await session.scalars(select(TicketHistory))).all()
    event = decode(row.value)
    assert event.payload.ticket_number == number  # type: ignore[attr-defined]
    assert ticket is not None and ticket.ticket_number == number
    assert history.event_id == event.event_id and history.summary["ticket_number"] == number


async def test_a_create_writes_each_row_once_and_reads_none_of_them_back(
    client: httpx.AsyncClient, intake: Intake
) -> None:
    with statements_of(intake) as statements:
        answer = await client.post("/api/v1/tickets", json=repair(), headers={**AGENT, "Idempotency-Key": "k-1"})
    assert answer.status_code == 201
    writes = [" ".join(s.split()[:3]) for s in statements if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]
    assert sorted(writes) == [
        "INSERT INTO outbox",
        "INSERT INTO processed_events",
        "INSERT INTO ticket_clocks",
        "INSERT INTO ticket_history",
        "INSERT INTO ticket_number_counters",
        "INSERT INTO tickets",
    ], statements
    # the only read of tickets is the idempotency look-up before the writer; nothing new is read back
    reads = [s.split(" FROM ")[1].split()[0] for s in statements if s.startswith("SELECT") and " FROM " in s]
    assert reads.count("tickets") == 1 and "ticket_clocks" not in reads and "ticket_history" not in reads, statements
