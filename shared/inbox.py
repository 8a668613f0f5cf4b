"""Idempotent consumers: the ids of events already acted on, recorded in the handler's own transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import String, Uuid, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import AwareDateTime


class InboxMixin:
    """Columns of a service's `processed_events` table: `class ProcessedEvent(InboxMixin, Base)`."""

    __tablename__ = "processed_events"

    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    processed_at: Mapped[datetime] = mapped_column(AwareDateTime())


async def first_delivery(
    session: AsyncSession, model: type[InboxMixin], event_id: uuid.UUID, event_type: str, at: datetime
) -> bool:
    """True the first time `event_id` is seen, and records it in the caller's transaction.

    A concurrent twin that slipped past the check fails on the primary key at commit, so its
    whole transaction (state change and outbox rows) rolls back: nothing is done twice.
    """
    seen = await session.scalar(select(model.event_id).where(model.event_id == event_id))
    if seen is not None:
        return False
    session.add(cast(Any, model)(event_id=event_id, event_type=event_type, processed_at=at))
    return True


async def unseen(
    session: AsyncSession, model: type[InboxMixin], events: list[tuple[uuid.UUID, str]], at: datetime
) -> set[uuid.UUID]:
    """The ids among `events` (id, type) never processed before, recorded now: one query per batch."""
    ids = {event_id for event_id, _ in events}
    if not ids:
        return set()
    seen = set((await session.scalars(select(model.event_id).where(model.event_id.in_(ids)))).all())
    fresh: set[uuid.UUID] = set()
    for event_id, event_type in events:
        if event_id in seen or event_id in fresh:
            continue
        fresh.add(event_id)
        session.add(cast(Any, model)(event_id=event_id, event_type=event_type, processed_at=at))
    return fresh
