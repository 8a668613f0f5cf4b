"""Issue 14 #14: a duplicate TicketReceived or TicketDispatched (same event_id, after a kill -9) changes intake once."""

from __future__ import annotations

from datetime import timedelta

import httpx

from services.intake.bootstrap import Intake
from services.intake.worker import ViewBuilder
from shared.events import TicketDispatched, new_event
from shared.policy.categories import Category
from tests.unit.intake.conftest import AGENT, NOW, repair
from tests.unit.intake.test_api import outbox_events


async def test_intakes_view_drops_a_duplicate_of_each_event(client: httpx.AsyncClient, intake: Intake) -> None:
    ticket_id = (await client.post("/api/v1/tickets", json=repair(), headers=AGENT)).json()["ticket_id"]
    [received] = await outbox_events(intake)
    dispatched = new_event(
        TicketDispatched(unit_id="U-1", division_id="D-1", category=Category.REPAIR, mode="automatic"),
        ticket_id=ticket_id,
        branch="demo",
        producer="dispatch",
        correlation_id=ticket_id,
        occurred_at=NOW + timedelta(minutes=3),
    )
    view = ViewBuilder(intake.sessions, intake.clock, intake.policies)
    await view([received, dispatched])
    await view([received, dispatched, dispatched])  # redelivered, and twice in one batch
    await view([dispatched])
    shown = (await client.get(f"/api/v1/tickets/{ticket_id}", headers=AGENT)).json()
    assert [h["type"] for h in shown["history"]] == ["TicketReceived", "TicketDispatched"]
    assert shown["status"] == "dispatched"
