"""A callback service on SQLite with a fixed clock, fed ticket events directly, driven through its API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from services.callback.bootstrap import CallbackService, build_api, build_service
from services.callback.handlers import Policies
from services.callback.settings import CallbackSettings
from services.callback.store import Base, Outbox
from services.callback.worker import TicketEventsHandler
from shared.auth import AuthSettings, Role, issue_token
from shared.clock import FixedClock
from shared.db import create_schema
from shared.events import (
    CallbackPreference,
    CustomerDetails,
    Event,
    Payload,
    ReplyApproved,
    TicketDispatched,
    TicketReceived,
    TicketReplied,
    decode,
    new_event,
)
from shared.policy.categories import Category
from shared.runtime import ServiceSettings

SHANGHAI = ZoneInfo("Asia/Shanghai")
SECRET = "callback-unit-test-secret-0123456789abcdef"
BRANCH = "default"
PHONE = "13812345678"


def at(text: str) -> datetime:
    """Shanghai local time, e.g. '2026-11-25 20:59' (a Wednesday)."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@dataclass
class World:
    service: CallbackService
    clock: FixedClock
    client: httpx.AsyncClient
    auth: AuthSettings
    handler: TicketEventsHandler
    tokens: dict[tuple[str, Role, str], str] = field(default_factory=dict)
    fed: list[Event[Any]] = field(default_factory=list)  # every event handed to the handler, in order

    def headers(self, subject: str = "agent-1", role: Role = Role.AGENT, branch: str = BRANCH, **claims: Any) -> Any:
        token = issue_token(
            self.auth,
            subject=subject,
            role=role,
            branch=branch,
            now=datetime.now(SHANGHAI),
            ttl=timedelta(hours=1),
            **claims,
        )
        return {"Authorization": f"Bearer {token}"}

    async def feed(self, *payloads: Payload, ticket_id: str, branch: str = BRANCH) -> list[Event[Any]]:
        events = [
            new_event(
                payload,
                ticket_id=ticket_id,
                branch=branch,
                producer="test",
                correlation_id="test",
                occurred_at=self.clock.now(),
            )
            for payload in payloads
        ]
        await self.handler(events)
        self.fed += events
        return events

    async def replied_and_approved(
        self, ticket_id: str, when: datetime, reply_id: str = "R1", result: str = "表已更换，燃气恢复"
    ) -> None:
        await self.feed(
            TicketReplied(reply_id=reply_id, unit_id="U1", handler_id="h1", result=result),
            ReplyApproved(reply_id=reply_id, unit_id="U1", reviewer_id="sup-1", reply_received_at=when),
            ticket_id=ticket_id,
        )

    async def ticket(
        self,
        when: datetime,
        *,
        category: Category = Category.REPAIR,
        callback: CallbackPreference | None = None,
        ticket_id: str | None = None,
        branch: str = BRANCH,
        unit: str = "U1",
        division: str = "D1",
        approve: bool = True,
    ) -> str:
        """A ticket received, dispatched and (by default) replied and approved at `when`."""
        ticket_id = ticket_id or str(uuid.uuid4())
        await self.feed(
            TicketReceived(
                ticket_number=f"GX-20261125-{ticket_id[:6]}",
                channel="phone",
                category=category,
                received_at=when - timedelta(days=1),
                description="燃气灶打不着火",
                customer=CustomerDetails(name="张小明", phone=PHONE),
                callback=callback or CallbackPreference(),
                owner_agent_id="agent-owner",
            ),
            TicketDispatched(unit_id=unit, division_id=division, category=category, mode="automatic"),
            ticket_id=ticket_id,
            branch=branch,
        )
        if approve:
            await self.feed(
                TicketReplied(reply_id="R1", unit_id=unit, handler_id="h1", result="表已更换，燃气恢复"),
                ReplyApproved(reply_id="R1", unit_id=unit, reviewer_id="sup-1", reply_received_at=when),
                ticket_id=ticket_id,
                branch=branch,
            )
        return ticket_id

    async def emitted(self, ticket_id: str | None = None) -> list[Event[Payload]]:
        async with self.service.sessions() as session:
            rows = (await session.scalars(select(Outbox).order_by(Outbox.id))).all()
        events = [decode(row.value) for row in rows]
        return [e for e in events if ticket_id is None or e.ticket_id == ticket_id]

    async def types(self, ticket_id: str) -> list[str]:
        return [e.type for e in await self.emitted(ticket_id)]

    async def due(self, subject: str = "agent-1", **params: Any) -> list[dict[str, Any]]:
        response = await self.client.get("/api/v1/callbacks/due", headers=self.headers(subject), params=params)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def callback_of(self, ticket_id: str) -> dict[str, Any]:
        response = await self.client.get("/api/v1/callbacks", headers=self.headers(), params={"ticket_id": ticket_id})
        assert response.status_code == 200, response.text
        rounds: list[dict[str, Any]] = response.json()
        return rounds[-1]

    async def claim(self, callback_id: str, subject: str = "agent-1") -> httpx.Response:
        return await self.client.post(f"/api/v1/callbacks/{callback_id}/claim", headers=self.headers(subject))

    async def outcome(self, callback_id: str, body: dict[str, Any], subject: str = "agent-1") -> httpx.Response:
        return await self.client.post(
            f"/api/v1/callbacks/{callback_id}/outcome", headers=self.headers(subject), json=body
        )

    async def call(self, callback_id: str, body: dict[str, Any], subject: str = "agent-1") -> dict[str, Any]:
        """Claim, then record the outcome; both must succeed."""
        claimed = await self.claim(callback_id, subject)
        assert claimed.status_code == 200, claimed.text
        recorded = await self.outcome(callback_id, body, subject)
        assert recorded.status_code == 200, recorded.text
        result: dict[str, Any] = recorded.json()
        return result


async def make_world(
    database_url: str,
    now: datetime,
    callback: CallbackSettings | None = None,
    intake_transport: httpx.AsyncBaseTransport | None = None,
) -> World:
    clock = FixedClock(now)
    auth = AuthSettings(jwt_secret=SECRET)
    service = build_service(
        ServiceSettings(),
        callback or CallbackSettings(),
        database_url=database_url,
        clock=clock,
        policies=Policies.load(),
    )
    await create_schema(service.engine, Base.metadata)
    app = build_api(service, auth=auth, intake_transport=intake_transport)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    client = httpx.AsyncClient(transport=transport, base_url="http://test")
    handler = TicketEventsHandler(service.sessions, clock, service.policies)
    return World(service, clock, client, auth, handler)
