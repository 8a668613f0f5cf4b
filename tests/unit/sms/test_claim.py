"""The sender claims what is due (a stale claim first, then the longest due), never a message held for later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.clock import FixedClock
from shared.db import transaction
from shared.sms.gateways import Submitted
from shared.sms.queue import SmsSender, SmsState, enqueue
from tests.unit.sms.conftest import Message

pytestmark = pytest.mark.unit
NOW = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)


class Recording:
    """A gateway that takes every message and remembers its text."""

    name = "recording"

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, message_id: int, phone: str, text: str, sender: str) -> Submitted:
        self.sent.append(text)
        return Submitted(reference=str(message_id))

    async def close(self) -> None:
        return None

    def for_branch(self, branch: str) -> tuple[Recording, str]:
        return self, "95007"


async def _queue(sessions: async_sessionmaker[AsyncSession], text: str, not_before: datetime) -> None:
    async with transaction(sessions) as session:
        await enqueue(
            session,
            Message,
            key=text,
            branch="GX",
            phone="+8613800001001",
            text=text,
            purpose="status",
            now=NOW - timedelta(hours=1),
            not_before=not_before,
        )


async def test_a_claim_takes_stale_claims_then_the_longest_due_and_leaves_what_waits_for_the_morning(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    morning = NOW + timedelta(hours=9)  # the end of the quiet hours
    await _queue(sessions, "held-1", morning)
    await _queue(sessions, "due-late", NOW - timedelta(seconds=5))
    await _queue(sessions, "held-2", morning)
    await _queue(sessions, "due-early", NOW - timedelta(minutes=10))
    await _queue(sessions, "stale", NOW - timedelta(hours=1))
    await _queue(sessions, "in-flight", NOW - timedelta(hours=1))
    await _queue(sessions, "due-last", NOW)
    async with transaction(sessions) as session:  # a sender killed mid-send, and one sending right now
        for text, claimed in (("stale", NOW - timedelta(minutes=5)), ("in-flight", NOW - timedelta(seconds=2))):
            await session.execute(
                update(Message)
                .where(Message.text == text)
                .values(state=SmsState.SENDING.value, claimed_at=claimed, attempts=1)
            )
    gateway = Recording()
    sender = SmsSender("test", sessions, Message, gateway, FixedClock(NOW), claim_timeout=30.0, batch_size=2)

    assert await sender.send_due() == 2  # a batch at most: the oldest work first, whatever the ids
    assert sorted(gateway.sent) == ["due-early", "stale"]
    assert await sender.send_due() == 2
    assert sorted(gateway.sent[2:]) == ["due-last", "due-late"]
    assert await sender.send_due() == 0
    async with sessions() as session:
        states = {text: state for text, state in await session.execute(select(Message.text, Message.state))}
    assert states["held-1"] == states["held-2"] == SmsState.QUEUED.value
    assert states["in-flight"] == SmsState.SENDING.value  # another sender's fresh claim is not taken over
    assert {states[t] for t in ("stale", "due-early", "due-late", "due-last")} == {SmsState.SENT.value}
