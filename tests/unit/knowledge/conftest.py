"""Fixtures of the knowledge unit tests: the API on a migrated SQLite file with a fixed clock, tokens per person."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.knowledge.bootstrap import KnowledgeService, build_api, build_service, migrate
from services.knowledge.settings import KnowledgeSettings
from shared.auth import AuthSettings, Role, issue_token
from shared.clock import FixedClock
from shared.runtime import ServiceSettings

SECRET = "knowledge-unit-test-secret-0123456789-abcd"
BRANCH = "demo"
SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)


def auth() -> AuthSettings:
    return AuthSettings(jwt_secret=SECRET)  # type: ignore[arg-type]


def token(
    role: Role, subject: str, *, unit: str | None = None, division: str | None = None, branch: str = BRANCH
) -> dict[str, str]:
    value = issue_token(
        auth(),
        subject=subject,
        role=role,
        branch=branch,
        unit=unit,
        division=division,
        now=datetime.now(UTC),
        ttl=timedelta(hours=1),
    )
    return {"Authorization": f"Bearer {value}"}


UNIT = token(Role.UNIT_HANDLER, "handler-1", unit="U-1", division="D-1")
SISTER_UNIT = token(Role.UNIT_HANDLER, "handler-2", unit="U-2", division="D-1")
DIVISION = token(Role.DIVISION_SUPERVISOR, "division-1", division="D-1")
OTHER_DIVISION = token(Role.DIVISION_SUPERVISOR, "division-2", division="D-2")
CENTER = token(Role.CENTER_SUPERVISOR, "center-1")
AGENT = token(Role.AGENT, "agent-7")
OTHER_BRANCH_AGENT = token(Role.AGENT, "agent-9", branch="default")  # another configured branch


def article(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "燃气表不走字怎么办",
        "body": "## 可能原因\n\n1. 表内**电池**电量不足\n2. 表前阀未打开\n\n请先检查表前阀，再更换电池。",
        "category": "repair",
        "tags": ["燃气表", "不走字"],
        "review_by": "2027-06-30",
    }
    body.update(overrides)
    return body


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
async def service(tmp_path: Path, clock: FixedClock) -> AsyncIterator[KnowledgeService]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'knowledge.db'}"
    await asyncio.to_thread(migrate, url)
    settings = KnowledgeSettings(attachments_dir=tmp_path / "files")
    built = build_service(ServiceSettings(state_dir=tmp_path), settings, database_url=url, clock=clock)
    yield built
    await built.close()


@pytest.fixture
async def client(service: KnowledgeService) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_api(service, auth=auth()), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://knowledge") as c:
        yield c


async def publish(client: httpx.AsyncClient, **overrides: Any) -> str:
    """Draft (unit), submit, approve (division), publish (center): the article id."""
    created = await client.post("/api/v1/articles", json=article(**overrides), headers=UNIT)
    assert created.status_code == 201, created.text
    article_id = created.json()["article_id"]
    for path, who in (("submit", UNIT), ("approve", DIVISION), ("publish", CENTER)):
        answer = await client.post(f"/api/v1/articles/{article_id}/{path}", json={}, headers=who)
        assert answer.status_code == 200, answer.text
    return str(article_id)
