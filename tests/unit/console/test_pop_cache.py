"""The call pop fetched when CallOffered arrives: served once, to the same person, only with a valid token."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.console import pop_cache
from services.console.handlers.call_pop import CallPop
from services.console.live import Hub, Listener
from shared.events import CallOffered, new_event


def _call(call_id: str = "call-1") -> Any:
    return new_event(
        CallOffered(caller_number="13800001001", dialled_number="0771-96877", extension="8001"),
        branch="demo",
        producer="cti",
        call_id=call_id,
        correlation_id=call_id,
        occurred_at=datetime.now(UTC),
    )


def _listener(expires_in: timedelta) -> Listener:
    return Listener(
        "agent.li", "agent", "demo", "en", extension="8001", token="t", token_expires_at=datetime.now(UTC) + expires_in
    )


@pytest.fixture
def fetched(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str | None]]:
    calls: list[tuple[str, str, str | None]] = []

    async def call_pop(apis: Any, token: str, branch: str, call_id: str, caller: str | None) -> CallPop:
        calls.append((branch, call_id, caller))
        return CallPop(call_id, True)

    monkeypatch.setattr(pop_cache, "call_pop", call_pop)
    return calls


async def test_the_pop_starts_with_the_call_and_serves_its_person_once(fetched: list[Any]) -> None:
    prefetch = pop_cache.PopPrefetch(apis=None)  # type: ignore[arg-type]
    hub = Hub(lambda kind, event, listener: {})
    hub.on_call = prefetch.start
    listener = _listener(timedelta(minutes=10))
    hub.add(listener)
    assert hub.publish(_call()) == 1
    hub.publish(_call())  # the same call again (redelivery): fetched once
    await asyncio.sleep(0)
    assert fetched == [("demo", "call-1", "13800001001")]
    assert await prefetch.take("call-1", "agent.wang") is None  # another person gets nothing
    pop = await prefetch.take("call-1", "agent.li")
    assert pop is not None and pop.call_id == "call-1"
    assert await prefetch.take("call-1", "agent.li") is None  # served once


async def test_no_prefetch_with_a_token_about_to_expire(fetched: list[Any]) -> None:
    prefetch = pop_cache.PopPrefetch(apis=None)  # type: ignore[arg-type]
    prefetch.start(_listener(timedelta(seconds=10)), _call())
    await asyncio.sleep(0)
    assert fetched == [] and await prefetch.take("call-1", "agent.li") is None
