"""The read API served beside the worker: a ticket's timers, due-soon lists by scope, stats, roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.sla_monitor.bootstrap import build_http
from shared.auth.roles import Role
from shared.auth.settings import AuthSettings
from shared.auth.tokens import issue_token
from tests.unit.sla_monitor.builders import at, dispatched, received
from tests.unit.sla_monitor.test_agent import clock, monitor, put, sink  # noqa: F401  (fixtures)

SECRET = "unit-test-secret-0123456789abcdef0123"


@pytest.fixture
def calendar_years() -> list[object]:
    return []


def bearer(role: Role, **scope: str) -> dict[str, str]:
    settings = AuthSettings(jwt_secret=SECRET)
    token = issue_token(
        settings,
        subject="u-1",
        role=role,
        branch=scope.pop("branch", "default"),
        now=datetime.now(UTC),
        ttl=timedelta(hours=1),
        **scope,
    )
    return {"Authorization": f"Bearer {token}"}


async def test_timers_due_soon_and_roles(monitor, clock, monkeypatch):  # noqa: F811
    monkeypatch.setenv("HOTLINE_JWT_SECRET", SECRET)
    async with monitor.agent.test_context() as agent:
        await put(agent, received(at("2026-11-02 09:00")), at("2026-11-02 09:00"))
        await put(agent, dispatched(), at("2026-11-02 09:03"))
    clock.set(at("2026-11-02 10:00"))
    app = build_http(monitor)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/api/v1/sla/tickets/T-1/timers", headers=bearer(Role.AGENT))
        assert response.status_code == 200, response.text
        timers = {t["clock"]: t for t in response.json()["timers"]}
        assert timers["contact"]["deadline"].startswith("2026-11-02T11:03:00")
        assert not timers["dispatch"]["running"]
        due = await client.get(
            "/api/v1/sla/due", params={"within_minutes": 90}, headers=bearer(Role.DIVISION_SUPERVISOR, division="D-2")
        )
        assert [row["clock"] for row in due.json()["timers"]] == ["contact"]
        other = await client.get(
            "/api/v1/sla/due", params={"within_minutes": 90}, headers=bearer(Role.DIVISION_SUPERVISOR, division="D-9")
        )
        assert other.json()["timers"] == []
        wide = await client.get(
            "/api/v1/sla/due", params={"within_minutes": 1000}, headers=bearer(Role.CENTER_SUPERVISOR)
        )
        assert wide.status_code == 422
        assert (await client.get("/api/v1/sla/stats", headers=bearer(Role.AGENT))).status_code == 403
        stats = await client.get("/api/v1/sla/stats", headers=bearer(Role.CENTER_SUPERVISOR))
        assert stats.json()["open_timers"] == 2
        assert (
            await client.get("/api/v1/sla/tickets/T-1/timers", headers=bearer(Role.AGENT, branch="other"))
        ).status_code == 404


async def test_a_credential_of_an_unknown_branch_gets_404_unknown_branch(monitor, monkeypatch):  # noqa: F811
    # issue 14 #6: one rule on every route of every service
    monkeypatch.setenv("HOTLINE_JWT_SECRET", SECRET)
    app = build_http(monitor)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for path in ("/api/v1/sla/tickets/T-1/timers", "/api/v1/sla/due", "/api/v1/sla/stats"):
            response = await client.get(path, headers=bearer(Role.CENTER_SUPERVISOR, branch="nowhere"))
            assert response.status_code == 404, (path, response.text)
            assert response.json()["error"]["code"] == "unknown_branch"


async def test_the_document_lists_the_error_answers(monitor, monkeypatch):  # noqa: F811
    from tests.unit.http.openapi_checks import undocumented_answers

    monkeypatch.setenv("HOTLINE_JWT_SECRET", SECRET)
    transport = httpx.ASGITransport(app=build_http(monitor), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert undocumented_answers((await client.get("/openapi.json")).json()) == []
