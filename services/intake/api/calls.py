"""Calls: what the CTI reported, their statistics and a call's screen pop."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import store
from services.intake.api.common import (
    CallAgent,
    CallReader,
    Db,
    Supervisor,
    summary,
)
from services.intake.api.customers import (
    screen_pop_for,
)
from services.intake.schemas import (
    CallStats,
    CallView,
    ScreenPop,
)
from services.intake.store import CallRecord
from shared.auth import (
    Principal,
    SecureRouter,
)
from shared.http.errors import ApiError
from shared.http.types import Instant

calls = SecureRouter(prefix="/api/v1", tags=["calls"])


@calls.get("/calls/stats", response_model=CallStats)
async def call_stats(principal: Supervisor, db: Db, since: Instant | None = None, until: Instant | None = None) -> Any:
    """Answered and abandoned calls and handle time in a range (RULES.md §7 statistics)."""
    counts = await store.call_counts(db, principal.branch, since, until)
    return CallStats(branch=principal.branch, since=since, until=until, **counts)


async def _call(db: AsyncSession, call_id: str, principal: Principal) -> CallRecord:
    record = await db.get(CallRecord, call_id)
    if record is None or record.branch != principal.branch:
        raise ApiError(404, f"call {call_id} not found")
    return record


@calls.get("/calls/{call_id}", response_model=CallView)
async def read_call(call_id: str, principal: CallReader, db: Db) -> Any:
    """A call record with the tickets taken on it."""
    record = await _call(db, call_id, principal)
    linked = await store.tickets_of_call(db, call_id)
    return CallView(
        call_id=record.call_id,
        branch=record.branch,
        caller_number=record.caller_number,
        dialled_number=record.dialled_number,
        queue=record.queue,
        agent_id=record.agent_id,
        state=record.state,
        offered_at=record.offered_at,
        answered_at=record.answered_at,
        ended_at=record.ended_at,
        talk_seconds=record.talk_seconds,
        recording_ref=record.recording_ref,
        tickets=[summary(t) for t in linked if t.branch == principal.branch],
    )


@calls.get("/calls/{call_id}/screen-pop", response_model=ScreenPop)
async def call_screen_pop(call_id: str, principal: CallAgent, db: Db) -> Any:
    """The screen pop for a ringing call: who the caller number belongs to and their tickets."""
    record = await _call(db, call_id, principal)
    return await screen_pop_for(db, principal.branch, record.caller_number)
