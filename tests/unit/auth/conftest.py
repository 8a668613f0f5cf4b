"""Fixtures of the auth tests: the demo app on a fresh SQLite database, an async client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.unit.auth.demo import build_app, seed


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Any]:
    application = build_app(f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")
    await seed(application)
    yield application
    await application.state.engine.dispose()


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c
