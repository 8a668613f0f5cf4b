"""The daily number is taken at the end of a create: the answer, the view, its history and the event all carry it."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from services.intake.bootstrap import Intake
from services.intake.store import Outbox, Ticket, TicketHistory
from shared.events import decode
from tests.unit.intake.conftest import AGENT, repair


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
