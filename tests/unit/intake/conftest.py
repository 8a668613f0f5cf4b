"""Fixtures of intake's unit tests: the API on a fresh SQLite database with a fixed clock, tokens per role."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from services.intake.bootstrap import Intake, build
from services.intake.store import Base
from shared.auth import AuthSettings, Role, issue_token
from shared.clock import FixedClock
from shared.db import create_schema
from shared.runtime import ServiceSettings

SECRET = "intake-unit-test-secret-0123456789-abcdefgh"
BRANCH = "demo"
SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)  # a Friday morning


def auth() -> AuthSettings:
    return AuthSettings(jwt_secret=SECRET)  # type: ignore[arg-type]


def token(
    role: Role,
    *,
    branch: str = BRANCH,
    subject: str | None = None,
    unit: str | None = None,
    division: str | None = None,
) -> dict[str, str]:
    value = issue_token(
        auth(),
        subject=subject or f"{role.value}-1",
        role=role,
        branch=branch,
        unit=unit,
        division=division,
        now=datetime.now(UTC),
        ttl=timedelta(hours=1),
    )
    return {"Authorization": f"Bearer {value}"}


AGENT = token(Role.AGENT, subject="agent-7")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
async def intake(tmp_path: Path, clock: FixedClock) -> AsyncIterator[Intake]:
    service = build(ServiceSettings(), database_url=f"sqlite+aiosqlite:///{tmp_path / 'intake.db'}", clock=clock)
    await create_schema(service.engine, Base.metadata)
    yield service
    await service.engine.dispose()


@pytest.fixture
async def client(intake: Intake) -> AsyncIterator[httpx.AsyncClient]:
    app = intake.api(auth=auth())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as c:
        yield c


def repair(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": "repair",
        "customer": {"name": "张三", "phone": "13800138000", "address": "南宁市青秀区民族大道100号3栋501"},
        "description": "燃气灶打不着火",
    }
    body.update(overrides)
    return body


def complaint(place: str = "民族大道100号", phone: str = "13800138000", **facts: Any) -> dict[str, Any]:
    return {
        "category": "complaint",
        "customer": {"name": "李四", "phone": phone},
        "description": "抄表员态度差",
        "complaint": {"place": place, "complaint_type": "meter_reading", **facts},
    }


FieldsOf = Callable[[httpx.Response], set[str]]


def fields_of(response: httpx.Response) -> set[str]:
    return {f["field"] for f in response.json()["error"]["fields"]}


@contextmanager
def statements_of(intake: Intake) -> Iterator[list[str]]:
    """Every SQL statement the service's engine runs within the block, whitespace collapsed, in order."""
    engine = intake.sessions.kw["bind"]
    assert isinstance(engine, AsyncEngine)
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
