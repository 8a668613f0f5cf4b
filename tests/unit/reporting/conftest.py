"""Fixtures of the reporting unit tests: the service on a migrated SQLite file with a fixed clock, tokens, events."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.reporting.bootstrap import ReportingService, build_api, build_service, migrate
from services.reporting.settings import ReportingSettings
from services.reporting.worker import ReportingEventsHandler
from shared.auth import Role
from shared.clock import FixedClock
from shared.events import ComplaintDetails, Event, Location, Payload, TicketReceived, new_event
from shared.policy.categories import Category, Subtype
from shared.runtime import ServiceSettings

# the tokens of the other services' unit tests: one secret, the same people of the demo branch
from tests.unit.knowledge.conftest import BRANCH, auth, token

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)

AGENT = token(Role.AGENT, "agent-7")
CENTER = token(Role.CENTER_SUPERVISOR, "center-1")
DIVISION = token(Role.DIVISION_SUPERVISOR, "division-1", division="D-1")
OTHER_DIVISION = token(Role.DIVISION_SUPERVISOR, "division-2", division="D-2")
UNIT = token(Role.UNIT_HANDLER, "handler-1", unit="U-1", division="D-1")
OTHER_BRANCH_CENTER = token(Role.CENTER_SUPERVISOR, "center-9", branch="default")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
async def service(tmp_path: Path, clock: FixedClock) -> AsyncIterator[ReportingService]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'reporting.db'}"
    await asyncio.to_thread(migrate, url)
    built = build_service(
        ServiceSettings(state_dir=tmp_path),
        ReportingSettings(bulletins_dir=tmp_path / "bulletins"),
        database_url=url,
        clock=clock,
    )
    yield built
    await built.close()


@pytest.fixture
async def client(service: ReportingService) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_api(service, auth=auth()), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://reporting") as c:
        yield c


@pytest.fixture
def consume(service: ReportingService) -> ReportingEventsHandler:
    """The worker's batch handler, fed by hand (the consumer loop itself is tested on real Kafka)."""
    return ReportingEventsHandler(service.sessions, service.clock, service.hot_spot_rules)


def event(payload: Payload, ticket_id: str, at: datetime, *, branch: str = BRANCH) -> Event[Payload]:
    return new_event(
        payload,
        ticket_id=ticket_id,
        branch=branch,
        producer="test",
        correlation_id=f"req-{uuid.uuid4().hex[:8]}",
        occurred_at=at,
    )


def received(
    ticket_id: str,
    at: datetime,
    *,
    category: Category = Category.REPAIR,
    district: str | None = "青秀区",
    community: str | None = "凤岭小区",
    branch: str = BRANCH,
    **fields: Any,
) -> Event[Payload]:
    if category is Category.COMPLAINT:
        fields.setdefault(
            "complaint",
            ComplaintDetails(subject_key=f"{branch}|{district}|service", place=str(district), complaint_type="service"),
        )
    if category is Category.SERVICE_REQUEST:
        fields.setdefault("subtype", Subtype.INSTALLATION)
    return event(
        TicketReceived(
            channel=fields.pop("channel", "phone"),
            category=category,
            received_at=at,
            location=Location(district=district, community=community),
            **fields,
        ),
        ticket_id,
        at,
        branch=branch,
    )
