"""The outbound worker records in its inbox only the events it acts on: one it ignores writes nothing (SQLite)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.outbound.handlers import OutboundContext, handle_ticket_events
from services.outbound.settings import PACKAGED_TEMPLATES
from services.outbound.store import Base, ProcessedEvent, TicketContact, WebhookDelivery, WebhookSubscription
from services.outbound.templates import NoticeCatalog
from shared.branch_config import BranchPolicies
from shared.clock import FixedClock
from shared.db import create_schema, make_engine, make_sessions, sqlite_url, transaction
from shared.events import (
    ComplaintGraded,
    CustomerDetails,
    Event,
    ManualDispatchQueued,
    TicketReceived,
    new_event,
)
from shared.policy.categories import Category
from shared.policy.grading import GradeReason
from shared.policy.limits import ComplaintLevel

pytestmark = pytest.mark.unit
NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(sqlite_url(tmp_path / "outbound.db"))
    await create_schema(engine, Base.metadata)
    yield make_sessions(engine)
    await engine.dispose()


def _event(payload: Any, producer: str = "dispatch") -> Event[Any]:
    return new_event(payload, ticket_id="T-1", branch="default", producer=producer, correlation_id="c", occurred_at=NOW)


def _received() -> Event[Any]:
    customer = CustomerDetails(name="王小红", phone="13800001001", address="民族大道1号")
    payload = TicketReceived(
        ticket_number="DEFAULT-20261202-000001",
        channel="phone",
        category=Category.REPAIR,
        received_at=NOW,
        description="燃气灶打不着火",
        customer=customer,
    )
    return _event(payload, producer="intake")


async def _handle(sessions: async_sessionmaker[AsyncSession], events: list[Event[Any]]) -> list[Event[Any]]:
    ctx = OutboundContext(clock=FixedClock(NOW), policies=BranchPolicies(), notices=NoticeCatalog(PACKAGED_TEMPLATES))
    async with transaction(sessions) as session:
        return await handle_ticket_events(session, events, ctx)


async def _count(sessions: async_sessionmaker[AsyncSession], model: Any) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_an_event_the_worker_ignores_leaves_no_inbox_row_and_one_it_acts_on_acts_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    received = _received()
    queued = _event(ManualDispatchQueued(reason="no_matching_rule"))  # no notice, no step, no 12345 report
    grade = ComplaintGraded(level=ComplaintLevel.GENERAL, subject_key="s-1", reasons=(GradeReason.ORDINARY,))
    graded = _event(grade, producer="intake")
    await _handle(sessions, [received, queued, graded])
    async with sessions() as session:
        recorded = set((await session.scalars(select(ProcessedEvent.event_id))).all())
    assert recorded == {received.event_id}
    assert await _count(sessions, TicketContact) == 1

    await _handle(sessions, [received, queued])  # redelivered after a crash: nothing happens twice
    assert await _count(sessions, ProcessedEvent) == 1
    assert await _count(sessions, TicketContact) == 1


async def test_an_event_a_webhook_subscribes_to_is_acted_on_once_even_when_nothing_else_wants_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with transaction(sessions) as session:
        session.add(
            WebhookSubscription(
                branch="default",
                url="https://crm.example/hook",
                event_types=["ManualDispatchQueued"],
                secret="s" * 32,
                personal_data=False,
                active=True,
                created_at=NOW,
                created_by="admin-1",
            )
        )
    queued = _event(ManualDispatchQueued(reason="no_matching_rule"))
    await _handle(sessions, [queued])
    await _handle(sessions, [queued])
    assert await _count(sessions, ProcessedEvent) == 1
    assert await _count(sessions, WebhookDelivery) == 1
