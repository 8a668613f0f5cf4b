"""Every route of every service API enforces the roles it declares: 401 without a token, 403 for other roles.

The demo matrix (test_matrix.py) checks branch and unit scope route by route; this one walks the real
services' apps, so a route added to any service is covered the day it is added.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from services.callback.bootstrap import build_api as build_callback_api
from services.callback.bootstrap import build_service as build_callback
from services.dispatch.bootstrap import build as build_dispatch
from services.dispatch.settings import DispatchSettings
from services.intake.bootstrap import build as build_intake
from shared.auth import Role
from shared.auth.deps import iter_http_routes
from shared.auth.settings import AuthSettings
from shared.auth.tokens import issue_token
from shared.clock import FixedClock
from shared.runtime import ServiceSettings

SECRET = "service-roles-test-secret-0123456789abcdef"
AUTH = AuthSettings(jwt_secret=SecretStr(SECRET))
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def bearer(role: Role) -> dict[str, str]:
    scope = {"unit": "U-1"} if role is Role.UNIT_HANDLER else {}
    if role is Role.DIVISION_SUPERVISOR:
        scope = {"division": "D-1"}
    token = issue_token(
        AUTH,
        subject=f"{role.value}-1",
        role=role,
        branch="default",
        now=datetime.now(UTC),
        ttl=timedelta(hours=1),
        **scope,
    )
    return {"Authorization": f"Bearer {token}"}


AppFactory = Callable[[Path], AsyncIterator[FastAPI]]


async def intake_app(tmp: Path) -> AsyncIterator[FastAPI]:
    from services.intake.store import Base
    from shared.db import create_schema

    service = build_intake(
        ServiceSettings(state_dir=tmp), database_url=f"sqlite+aiosqlite:///{tmp / 'i.db'}", clock=FixedClock(NOW)
    )
    await create_schema(service.engine, Base.metadata)
    yield service.api(auth=AUTH)
    await service.engine.dispose()


async def dispatch_app(tmp: Path) -> AsyncIterator[FastAPI]:
    service = build_dispatch(
        ServiceSettings(state_dir=tmp),
        DispatchSettings(attachments_dir=tmp / "attachments"),
        clock=FixedClock(NOW),
        database_url=f"sqlite+aiosqlite:///{tmp / 'd.db'}",
    )
    await service.prepare()
    yield service.api_app(auth=AUTH)
    await service.close()


async def callback_app(tmp: Path) -> AsyncIterator[FastAPI]:
    from services.callback.store import Base
    from shared.db import create_schema

    service = build_callback(
        ServiceSettings(state_dir=tmp), database_url=f"sqlite+aiosqlite:///{tmp / 'c.db'}", clock=FixedClock(NOW)
    )
    await create_schema(service.engine, Base.metadata)
    yield build_callback_api(service, auth=AUTH)
    await service.close()


async def knowledge_app(tmp: Path) -> AsyncIterator[FastAPI]:
    from services.knowledge.bootstrap import build_api as build_knowledge_api
    from services.knowledge.bootstrap import build_service as build_knowledge
    from services.knowledge.store import Base
    from shared.db import create_schema

    service = build_knowledge(
        ServiceSettings(state_dir=tmp), database_url=f"sqlite+aiosqlite:///{tmp / 'k.db'}", clock=FixedClock(NOW)
    )
    await create_schema(service.engine, Base.metadata)
    yield build_knowledge_api(service, auth=AUTH)
    await service.close()


async def reporting_app(tmp: Path) -> AsyncIterator[FastAPI]:
    from services.reporting.bootstrap import build_api as build_reporting_api
    from services.reporting.bootstrap import build_service as build_reporting
    from services.reporting.store import Base
    from shared.db import create_schema

    service = build_reporting(
        ServiceSettings(state_dir=tmp), database_url=f"sqlite+aiosqlite:///{tmp / 'r.db'}", clock=FixedClock(NOW)
    )
    await create_schema(service.engine, Base.metadata)
    yield build_reporting_api(service, auth=AUTH)
    await service.close()


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


@pytest.mark.parametrize(
    "factory",
    [intake_app, dispatch_app, callback_app, knowledge_app, reporting_app],
    ids=["intake", "dispatch", "callback", "knowledge", "reporting"],
)
async def test_every_route_refuses_anonymous_callers_and_undeclared_roles(factory: AppFactory, tmp_path: Path) -> None:
    async for app in factory(tmp_path):
        routes = list(iter_http_routes(app))
        assert routes, "the app has no routes"
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        checked = 0
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            for route in routes:
                assert route.access is not None, f"{route.path} declares no roles"
                if route.access.public:
                    continue
                for method in sorted(route.methods):
                    url = concrete(route.path)
                    anonymous = await client.request(method, url, json={})
                    assert anonymous.status_code == 401, (method, route.path, anonymous.text)
                    for role in Role:
                        if role in route.access.roles:
                            continue
                        refused = await client.request(method, url, json={}, headers=bearer(role))
                        assert refused.status_code == 403, (method, route.path, role, refused.text)
                        assert "error" in refused.json()
                        checked += 1
        assert checked > 0
