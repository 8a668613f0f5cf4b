"""Story: a 12345 task whose government deadline is earlier than the policy's, through to its breach and the
escalations up the org tree (issue 13, items 2, 3 and 5).

RULES.md §1 / §6: 12345 supervision tasks come with the government's own deadline; RULES.md §2: a stricter
government standard replaces the limit, so the stricter of the two drives every clock, its warning and its
breach, in dispatch (the unit's inbox) and in the SLA monitor alike. RULES.md §8: at breach the division hears of
it, and when a further full limit has passed the center, named as the org tree names it. RULES.md §3 / DESIGN.md
"Time": every instant is shown in the branch's zone with its offset.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from shared.auth.roles import Role
from tests.e2e.harness import System
from tests.e2e.steps import XIXIANGTANG, Hotline, ok, ticket_body

OFFSET = "+08:00"  # the demo branch's zone, Asia/Shanghai


def shown_in_branch_zone(value: str) -> datetime:
    assert value.endswith(OFFSET), f"{value} is not in the branch's zone"
    return datetime.fromisoformat(value)


@pytest.mark.asyncio(loop_scope="session")
async def test_a_12345_task_with_an_earlier_government_deadline_breaches_on_it_and_reaches_the_center(
    system: System,
) -> None:
    desk = Hotline(system)
    district, unit, division = XIXIANGTANG
    gateway = system.client("intake", Role.INTEGRATION, subject="gov-gateway")
    # the unit's contact limit is 2 h from dispatch; the government wants the whole task done within 1 h
    government = (system.now() + timedelta(hours=1)).replace(microsecond=0)
    task = {
        "external_task_id": f"12345-{uuid.uuid4().hex[:8]}",
        "deadline": government.isoformat(),
        "ticket": ticket_body("repair", district, description="12345转办：燃气表漏气"),
    }
    created = ok(await gateway.post("/api/v1/gov12345/tasks", json=task), 201)
    again = ok(await gateway.post("/api/v1/gov12345/tasks", json=task), 200)  # the gateway retries
    ticket_id = created["ticket"]["ticket_id"]
    assert created["ticket"]["external_deadline_kept"] is True
    for answer in (created, again):  # both answers on the branch's wall clock (item 5)
        assert shown_in_branch_zone(answer["ticket"]["external_deadline"]) == government

    dispatched = await desk.dispatched(ticket_id, unit)
    assert dispatched.external_deadline == government and dispatched.center_id is not None

    # the unit's inbox orders it by the government's deadline, not the policy's
    handler = desk.unit(unit)

    async def in_inbox() -> bool:
        rows = ok(await handler.get("/api/v1/unit/inbox"))
        [row] = [r for r in rows if r["ticket_id"] == ticket_id]
        assert shown_in_branch_zone(row["nearest_deadline"]) == government, row
        contact = {c["clock"]: c for c in row["clocks"]}["contact"]
        assert shown_in_branch_zone(contact["deadline"]) == government, contact
        return True

    await system.eventually(in_inbox, what="the 12345 ticket in the unit's inbox by its government deadline")

    # the SLA monitor's timers run to it too
    async def timers_capped() -> bool:
        contact = await desk.timer(ticket_id, "contact")
        resolve = await desk.timer(ticket_id, "resolve")
        assert shown_in_branch_zone(contact["deadline"]) == government, contact
        assert shown_in_branch_zone(resolve["deadline"]) == government, resolve
        return True

    await system.eventually(timers_capped, what="the SLA monitor's clocks capped by the government deadline")

    within = system.real_seconds(timedelta(hours=1)) + 60
    warning = await desk.events.wait_for(ticket_id, "SlaWarning", lambda p: p.clock == "contact", within=within)
    breach = await desk.events.wait_for(ticket_id, "SlaBreached", lambda p: p.clock == "contact", within=within)
    assert breach.payload.deadline == government and warning.payload.deadline == government
    assert str(breach.payload.deadline.utcoffset()) == "8:00:00"  # an event payload in the branch zone (item 5)
    # the warning came at 80 % of the time the government left, not of the policy's 2 h
    assert warning.occurred_at < government
    to_division = await desk.events.wait_for(
        ticket_id, "SlaEscalated", lambda p: p.clock == "contact" and p.to_level == "division"
    )
    assert to_division.payload.to_org_id == division

    # RULES.md §8: a further full limit (2 h) later, the center, by the id the org tree gives it (item 2)
    center_id = ok(await desk.center.get("/api/v1/org"))["center_id"]
    to_center = await desk.events.wait_for(
        ticket_id,
        "SlaEscalated",
        lambda p: p.clock == "contact" and p.to_level == "center",
        within=system.real_seconds(timedelta(hours=2)) + 60,
    )
    assert to_center.payload.to_org_id == center_id != "demo"
    resolve_breach = await desk.events.wait_for(ticket_id, "SlaBreached", lambda p: p.clock == "resolve")
    assert resolve_breach.payload.deadline == government  # not 3 working days after dispatch

    # the agent's ticket view says the same, on the branch's wall clock (item 5)
    view = await desk.view(ticket_id)
    assert shown_in_branch_zone(view["external_deadline"]) == government
    assert all(clock["deadline"].endswith(OFFSET) for clock in view["clocks"]), view["clocks"]
