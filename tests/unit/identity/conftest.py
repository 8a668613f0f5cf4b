"""Identity on a fresh SQLite database, in-process: the API through ASGI, people made by the handlers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.identity.bootstrap import IdentityService, build, build_api, migrate
from services.identity.handlers.common import cli_actor
from services.identity.handlers.directory import create_person
from services.identity.schemas import PersonCreate
from services.identity.settings import IdentitySettings
from shared.runtime import ServiceSettings

# cheaper Argon2 than production (the parameters are benchmarked in bench/identity_login.py)
FAST = {"argon2_time_cost": 1, "argon2_memory_kib": 8 * 1024}
PASSWORD = "correct horse battery"


@pytest.fixture
async def identity(tmp_path: Path) -> AsyncIterator[IdentityService]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}"
    await asyncio.to_thread(migrate, url)
    service = build(ServiceSettings(state_dir=tmp_path), IdentitySettings(**FAST), database_url=url)  # type: ignore[arg-type]
    yield service
    await service.close()


@pytest.fixture
async def client(identity: IdentityService) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_api(identity), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://identity") as c:
        yield c


async def add_person(identity: IdentityService, username: str, *roles: str, **fields: object) -> None:
    body = PersonCreate(
        branch=str(fields.pop("branch", "demo")),
        username=username,
        roles=list(roles),
        password=str(fields.pop("password", PASSWORD)),
        **fields,  # type: ignore[arg-type]
    )
    async with identity.sessions() as session, session.begin():
        await create_person(session, identity.identity, cli_actor(body.branch), body)
