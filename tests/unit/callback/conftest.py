"""Fixtures of the callback unit tests: a fresh SQLite-backed service per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.unit.callback.world import World, at, make_world


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    built = await make_world(f"sqlite+aiosqlite:///{tmp_path / 'callback.db'}", at("2026-11-25 10:00"))
    yield built
    await built.client.aclose()
    await built.service.close()
