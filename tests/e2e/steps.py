"""The steps people take in the stories, each through a service's public HTTP API, plus what to wait for."""

from __future__ import annotations

import random
import uuid
from typing import Any

import httpx

from shared.auth.roles import Role
from tests.e2e.harness import System

# demo branch org (shared/config/orgs/demo.toml): district -> (unit, division)
QINGXIU = ("青秀区", "U-QINGXIU", "D-EAST")
XINGNING = ("兴宁区", "U-XINGNING", "D-EAST")
XIXIANGTANG = ("西乡塘区", "U-XIXIANGTANG", "D-WEST")


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


def mobile() -> str:
    """A random mainland mobile number, so every story has its own customer."""
    return f"139{random.randrange(10**8):08d}"


def customer(district: str = QINGXIU[0], name: str = "赵测试") -> dict[str, Any]:
    address = f"广西壮族自治区南宁市{district}科园路{random.randrange(999)}号"
    return {"name": name, "phone": mobile(), "address": address}


def ticket_body(category: str, district: str | None = QINGXIU[0], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": category,
        "customer": customer(district or "青秀区"),
        "description": f"e2e {category} {uuid.uuid4().hex[:8]}",
    }
    if district is not None:
        body["location"] = {"city": "南宁市", "district": district}
    body.update(extra)
    return body


class Hotline:
    """The people of one branch at their consoles: an agent, the center, a unit's handler, the callback desk."""

    def __init__(self, system: System, branch: str = "demo") -> None:
        self.system = system
        self.branch = branch
        self.agent = system.client("intake", Role.AGENT, branch, subject=f"agent-{uuid.uuid4().hex[:6]}")
        self.center = system.client("dispatch", Role.CENTER_SUPERVISOR, branch)
        self.callbacks = system.client("callback", Role.AGENT, branch, subject=f"cb-agent-{uuid.uuid4().hex[:6]}")
        self.sla = system.client("sla_monitor", Role.CENTER_SUPERVISOR, branch)
        self.events = system.events

    def unit(self, unit_id: str) -> httpx.AsyncClient:
        return self.system.client("dispatch", Role.UNIT_HANDLER, self.branch, unit=unit_id)

    # -- intake -----------------------------------------------------------------------------------
    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        created: dict[str, Any] = ok(await self.agent.post("/api/v1/tickets", json=body), 201)
        return created

    async def view(self, ticket_id: str) -> dict[str, Any]:
        view: dict[str, Any] = ok(await self.agent.get(f"/api/v1/tickets/{ticket_id}"))
        return view

    async def view_when(self, ticket_id: str, what: str, check: Any, within: float = 60.0) -> dict[str, Any]:
        """The agent's ticket view once `check(view)` holds (the view is built from the topics)."""

        async def probe() -> dict[str, Any] | None:
            view = await self.view(ticket_id)
            return view if check(view) else None

        result: dict[str, Any] = await self.system.eventually(probe, within=within, what=f"{what} ({ticket_id})")
        return result

    # -- dispatch ---------------------------------------------------------------------------------
    async def dispatched(self, ticket_id: str, unit_id: str | None = None, count: int = 1) -> Any:
        """The ticket's TicketDispatched event number `count` (to `unit_id` when given)."""
        event = await self.events.wait_for(
            ticket_id,
            "TicketDispatched",
            lambda p: p.dispatch_count == count and (unit_id is None or p.unit_id == unit_id),
        )
        return event.payload

    async def unit_action(self, unit_id: str, ticket_id: str, action: str, body: dict[str, Any] | None = None) -> Any:
        """A unit action; retried while dispatch's own consumer has not yet seen the ticket's latest event."""
        handler = self.unit(unit_id)

        async def act() -> Any:
            response = await handler.post(f"/api/v1/tickets/{ticket_id}/{action}", json=body)
            if response.status_code in (404, 409):
                raise AssertionError(f"{action}: {response.status_code} {response.text}")
            return ok(response, 201 if action == "extensions" else 200)

        return await self.system.eventually(act, within=60, what=f"{unit_id} {action}")

    async def unit_works(
        self, unit_id: str, ticket_id: str, result: str, opinion: str = "", contact: bool = True
    ) -> Any:
        """The unit accepts, phones the customer when its clock asks for it, and replies to the center."""
        await self.unit_action(unit_id, ticket_id, "accept")
        if contact:
            await self.unit_action(unit_id, ticket_id, "contact", {"method": "phone", "note": "已电话联系用户"})
        return await self.unit_action(unit_id, ticket_id, "reply", {"result": result, "opinion": opinion})

    async def center_approves(self, ticket_id: str) -> Any:
        async def approve() -> Any:
            response = await self.center.post(f"/api/v1/tickets/{ticket_id}/review", json={"decision": "approve"})
            if response.status_code in (404, 409):
                raise AssertionError(f"review: {response.status_code} {response.text}")
            return ok(response)

        return await self.system.eventually(approve, within=60, what="center approves the reply")

    # -- SLA monitor ------------------------------------------------------------------------------
    async def timers(self, ticket_id: str) -> dict[str, Any]:
        """The SLA monitor's timers of the ticket (404 until its worker has seen the ticket)."""
        body: dict[str, Any] = ok(await self.sla.get(f"/api/v1/sla/tickets/{ticket_id}/timers"))
        return body

    async def timer(self, ticket_id: str, clock: str) -> dict[str, Any]:
        """One clock's timer; an AssertionError (which `eventually` retries) until the monitor has started it."""
        found = [timer for timer in (await self.timers(ticket_id))["timers"] if timer["clock"] == clock]
        assert len(found) == 1, f"the SLA monitor has no single {clock} timer of {ticket_id} yet: {found}"
        return found[0]  # type: ignore[no-any-return]

    # -- callback ---------------------------------------------------------------------------------
    async def callback(self, ticket_id: str, round_: int = 1) -> dict[str, Any]:
        """The ticket's callback of `round_` once the callback service has scheduled it."""

        async def probe() -> dict[str, Any] | None:
            rows = ok(await self.callbacks.get("/api/v1/callbacks", params={"ticket_id": ticket_id}))
            found = [row for row in rows if row["round"] == round_]
            return found[0] if found else None

        result: dict[str, Any] = await self.system.eventually(probe, within=60, what=f"callback round {round_}")
        return result

    async def call_back(self, callback_id: str, outcome: dict[str, Any], within: float = 90.0) -> dict[str, Any]:
        """Claim the callback as soon as it may be made (its slot reached), then record the call."""

        async def claim() -> bool:
            response = await self.callbacks.post(f"/api/v1/callbacks/{callback_id}/claim")
            assert response.status_code == 200, f"claim: {response.status_code} {response.text}"
            return True

        await self.system.eventually(claim, within=within, interval=0.5, what=f"claim callback {callback_id}")
        result: dict[str, Any] = ok(await self.callbacks.post(f"/api/v1/callbacks/{callback_id}/outcome", json=outcome))
        return result

    async def closed(self, ticket_id: str, reason: str) -> Any:
        event = await self.events.wait_for(ticket_id, "TicketClosed")
        assert event.payload.reason == reason, event.payload
        return event.payload
