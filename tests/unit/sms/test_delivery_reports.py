"""Kannel's delivery reports may arrive out of order: the final one (delivered, failed) is never hidden."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import transaction
from shared.sms.queue import (
    DLR_DELIVERED,
    DLR_SMSC_ACCEPTED,
    SmsState,
    enqueue,
    record_delivery_report,
)
from tests.unit.sms.conftest import Message

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


async def _queued(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with transaction(sessions) as session:
        await enqueue(
            session, Message, key="t:1", branch="GX", phone="+8613800001001", text="派单", purpose="status", now=NOW
        )
    async with sessions() as session:
        row = await session.scalar(Message.__table__.select().with_only_columns(Message.id))
    assert row is not None
    return int(row)


@pytest.mark.parametrize("order", [(DLR_SMSC_ACCEPTED, DLR_DELIVERED), (DLR_DELIVERED, DLR_SMSC_ACCEPTED)])
async def test_delivered_stays_delivered_whichever_report_comes_last(
    sessions: async_sessionmaker[AsyncSession], order: tuple[int, int]
) -> None:
    message_id = await _queued(sessions)
    for status in order:
        async with transaction(sessions) as session:
            await record_delivery_report(session, Message, message_id, status, NOW, service="test")
    async with sessions() as session:
        row = await session.get(Message, message_id)
    assert row is not None
    assert row.state == SmsState.DELIVERED.value
    assert row.report_status == DLR_DELIVERED
    assert row.delivered_at is not None
