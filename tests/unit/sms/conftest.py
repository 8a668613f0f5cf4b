"""A service's SMS queue table on SQLite, for the queue's unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase

from shared.db import create_schema, make_engine, make_sessions, sqlite_url
from shared.sms.queue import SmsQueueMixin


class Base(DeclarativeBase):
    pass


class Message(SmsQueueMixin, Base):
    pass


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(sqlite_url(tmp_path / "sms.db"))
    await create_schema(engine, Base.metadata)
    yield make_sessions(engine)
    await engine.dispose()
