"""Fixtures of the dispatch unit tests: the service on a fresh SQLite file, with its API behind an ASGI client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.dispatch.bootstrap import build
from services.dispatch.settings import DispatchSettings
from shared.clock import FixedClock
from shared.runtime import ServiceSettings
from tests.unit.dispatch.world import AUTH, START, RecordingNotifier, World


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    clock = FixedClock(START)
    service = build(
        ServiceSettings(state_dir=tmp_path),
        DispatchSettings(attachments_dir=tmp_path / "attachments", max_attachment_bytes=64 * 1024),
        clock=clock,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'dispatch.db'}",
    )
    notifier = RecordingNotifier()
    service.ctx.notifier = notifier
    await service.prepare()
    app = service.api_app(auth=AUTH)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://dispatch") as client:
        yield World(service, app, client, clock, notifier)
    await service.close()
