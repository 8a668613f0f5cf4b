"""The dispatch test world: a service on a database, a fixed clock, tokens per role, events to feed the worker."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import select

from services.dispatch.bootstrap import DispatchService
from services.dispatch.notify import Notifier
from services.dispatch.store import Outbox
from services.dispatch.worker import DispatchWorker
from shared.auth import AuthSettings, Role, issue_token
from shared.clock import FixedClock
from shared.events import (
    ComplaintDetails,
    CustomerDetails,
    Event,
    Location,
    Payload,
    TicketReceived,
    decode,
    new_event,
)
from shared.policy.categories import Category, Subtype
from shared.policy.limits import ComplaintLevel

SECRET = "dispatch-unit-test-secret-long-enough-0123456789"
AUTH = AuthSettings(jwt_secret=SecretStr(SECRET))
BRANCH = "default"
# Monday 2 March 2026, 09:00 in Asia/Shanghai: a plain working day
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def token(
    role: Role, subject: str, *, unit: str | None = None, division: str | None = None, branch: str = BRANCH
) -> dict[str, str]:
    value = issue_token(
        AUTH,
        subject=subject,
        role=role,
        branch=branch,
        now=datetime.now(UTC),
        ttl=timedelta(hours=1),
        unit=unit,
        division=division,
    )
    return {"Authorization": f"Bearer {value}"}


HANDLER_N1 = token(Role.UNIT_HANDLER, "handler-n1", unit="UNIT-N1")
HANDLER_N1_B = token(Role.UNIT_HANDLER, "handler-n1-b", unit="UNIT-N1")
HANDLER_N2 = token(Role.UNIT_HANDLER, "handler-n2", unit="UNIT-N2")
CENTER = token(Role.CENTER_SUPERVISOR, "supervisor-1")
DIVISION_NORTH = token(Role.DIVISION_SUPERVISOR, "div-north", division="DIV-NORTH")
ADMIN = token(Role.ADMIN, "admin-1")
AGENT = token(Role.AGENT, "agent-1")
OTHER_BRANCH_CENTER = token(Role.CENTER_SUPERVISOR, "supervisor-x", branch="demo")


def received(
    category: Category = Category.REPAIR,
    *,
    ticket_id: str | None = None,
    branch: str = BRANCH,
    district: str | None = "North-1",
    community: str | None = None,
    subtype: Subtype | None = None,
    unit_id: str | None = None,
    level: ComplaintLevel = ComplaintLevel.MINOR,
    at: datetime = START,
) -> Event[TicketReceived]:
    complaint = (
        ComplaintDetails(
            subject_key=f"{branch}|place|gas_smell", place="place", complaint_type="gas_smell", level=level
        )
        if category is Category.COMPLAINT
        else None
    )
    ticket = ticket_id or str(uuid.uuid4())
    payload = TicketReceived(
        ticket_number=f"GX-20260302-{uuid.uuid4().int % 1_000_000:06d}",
        channel="phone",
        category=category,
        subtype=subtype,
        received_at=at,
        description="gas meter leaking",
        customer=CustomerDetails(name="张小明", phone="13812345678", address="民族大道100号"),
        location=Location(district=district, community=community),
        complaint=complaint,
        unit_id=unit_id,
        owner_agent_id="agent-1",
    )
    return new_event(
        payload, ticket_id=ticket, branch=branch, producer="intake", correlation_id="call-1", occurred_at=at
    )


def other_event(payload: Payload, ticket_id: str, at: datetime, producer: str = "callback") -> Event[Any]:
    return new_event(payload, ticket_id=ticket_id, branch=BRANCH, producer=producer, correlation_id="x", occurred_at=at)


class RecordingNotifier:
    """Keeps the notices it was handed."""

    def __init__(self) -> None:
        self.delivered: list[tuple[Event[Any], dict[str, str]]] = []

    async def deliver(self, notice: Event[Any], duty_phones: dict[str, str]) -> None:
        self.delivered.append((notice, duty_phones))


@dataclass
class World:
    service: DispatchService
    app: FastAPI
    client: httpx.AsyncClient
    clock: FixedClock
    notifier: RecordingNotifier
    seen: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    async def feed(self, *events: Event[Any]) -> None:
        await DispatchWorker(self.service.sessions, self.service.ctx).handle(list(events))

    async def outbox(self) -> list[Event[Payload]]:
        async with self.service.sessions() as session:
            rows = await session.scalars(select(Outbox.value).order_by(Outbox.id))
            return [decode(v) for v in rows]

    async def new_events(self) -> list[Event[Payload]]:
        """The events staged since the last call, in order."""
        events = await self.outbox()
        fresh, self.seen = events[self.seen :], len(events)
        return fresh

    async def types(self) -> list[str]:
        return [e.type for e in await self.new_events()]


def types_of(events: Sequence[Event[Any]]) -> list[str]:
    return [e.type for e in events]


_: type[Notifier] = RecordingNotifier  # the recorder fits the notifier interface
