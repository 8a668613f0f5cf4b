"""create_app hygiene: body limits, JSON only, CORS, headers, error bodies, health, metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
import sqlalchemy.exc
from pydantic import BaseModel, Field

from shared.auth import Principal, Role, SecureRouter, require_roles
from shared.http.app import create_app
from shared.http.settings import HttpSettings
from tests.unit.auth.demo import auth_settings, bearer, build_app, seed, token

pytestmark = pytest.mark.unit

ADMIN = bearer(token(Role.ADMIN))


class Note(BaseModel):
    text: str = Field(min_length=1, max_length=50)
    priority: int = Field(ge=1, le=5)


router = SecureRouter(prefix="/api/v1")


@router.post("/notes", status_code=201)
async def add_note(note: Note, p: Annotated[Principal, require_roles(Role.ADMIN)]) -> Note:
    return note


@router.get("/boom")
async def boom(p: Annotated[Principal, require_roles(Role.ADMIN)]) -> None:
    raise RuntimeError("database password is hunter2")


@router.get("/database-down")
async def database_down(p: Annotated[Principal, require_roles(Role.ADMIN)]) -> None:
    # what asyncpg says through SQLAlchemy while PostgreSQL restarts
    raise sqlalchemy.exc.OperationalError("SELECT 1", {}, ConnectionRefusedError("connect call failed"))


@router.get("/leaky")
async def leaky(p: Annotated[Principal, require_roles(Role.ADMIN)]) -> dict[str, Any]:
    # no Masked* types here: the default response class still masks by key and pattern
    return {"caller": {"name": "张小明", "phone": "13812345678"}, "note": "id 45010219900101123X"}


async def _failing_check() -> bool:
    return False


async def _client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app("hygiene", HttpSettings(max_body_bytes=1024), router, auth=auth_settings())
    async for c in _client(app):
        yield c


async def test_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    big = '{"text": "' + "x" * 2000 + '", "priority": 1}'
    response = await client.post("/api/v1/notes", content=big, headers={**ADMIN, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_streamed_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": "'
        for _ in range(10):
            yield b"x" * 200
        yield b'", "priority": 1}'

    response = await client.post(
        "/api/v1/notes", content=chunks(), headers={**ADMIN, "Content-Type": "application/json"}
    )
    assert response.status_code == 413


async def test_only_the_paths_named_larger_take_a_body_over_the_service_limit() -> None:
    """Intake's create carries a customer's photos (some MB); every other route keeps the service's limit."""
    photos = SecureRouter(prefix="/api/v1")

    @photos.post("/with-photos", status_code=201)
    async def with_photos(body: dict[str, str], p: Annotated[Principal, require_roles(Role.ADMIN)]) -> dict[str, int]:
        return {"size": len(body["photo"])}

    app = create_app(
        "hygiene",
        HttpSettings(max_body_bytes=1024),
        router,
        photos,
        auth=auth_settings(),
        larger_bodies={"/api/v1/with-photos": 8192},
    )
    big = '{"photo": "' + "x" * 4000 + '"}'
    headers = {**ADMIN, "Content-Type": "application/json"}
    async for client in _client(app):
        accepted = await client.post("/api/v1/with-photos", content=big, headers=headers)
        assert accepted.status_code == 201 and accepted.json() == {"size": 4000}
        refused = await client.post("/api/v1/notes", content=big, headers=headers)
        assert refused.status_code == 413 and "1024 bytes" in refused.json()["error"]["message"]
        too_big = await client.post("/api/v1/with-photos", content='{"photo": "' + "x" * 9000 + '"}', headers=headers)
        assert too_big.status_code == 413 and "8192 bytes" in too_big.json()["error"]["message"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
async def test_non_json_body_is_415(client: httpx.AsyncClient, content_type: str) -> None:
    response = await client.post("/api/v1/notes", content=b"text=hi", headers={**ADMIN, "Content-Type": content_type})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


async def test_validation_errors_have_field_messages_and_no_input_echo(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/api/v1/notes", json={"text": "13812345678" * 10, "priority": 9}, headers=ADMIN)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert {f["field"] for f in error["fields"]} == {"body.text", "body.priority"}
    assert "13812345678" not in response.text


async def test_a_500_shows_no_internals(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/boom", headers=ADMIN)
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal_error", "message": "internal server error", "fields": []}}
    assert "hunter2" not in response.text


async def test_responses_are_masked_by_default(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/leaky", headers=ADMIN)).json()
    assert body == {"caller": {"name": "张*明", "phone": "138****5678"}, "note": "id **************123X"}


async def test_security_headers_on_success_and_error(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/health/live"),
        await client.get("/api/v1/notes-missing", headers=ADMIN),
        await client.post("/api/v1/notes", content=b"x", headers={"Content-Type": "text/plain"}),
    ):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Request-ID"]


async def test_unknown_route_and_method_use_the_error_body(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    response = await client.delete("/health/live")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


async def test_cors_is_closed_by_default(client: httpx.AsyncClient) -> None:
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    response = await client.options("/api/v1/notes", headers=preflight)
    assert "access-control-allow-origin" not in response.headers


async def test_cors_allows_configured_origins_only() -> None:
    settings = HttpSettings(cors_origins=["https://console.hotline.example"])
    app = create_app("hygiene", settings, router, auth=auth_settings())
    async for client in _client(app):
        ok = await client.options(
            "/api/v1/notes",
            headers={"Origin": "https://console.hotline.example", "Access-Control-Request-Method": "POST"},
        )
        assert ok.headers["access-control-allow-origin"] == "https://console.hotline.example"
        bad = await client.options(
            "/api/v1/notes",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in bad.headers


async def test_health_and_metrics_are_public() -> None:
    app = create_app(
        "hygiene",
        HttpSettings(),
        router,
        auth=auth_settings(),
        readiness={"database": _failing_check},
    )
    async for client in _client(app):
        assert (await client.get("/health/live")).json()["status"] == "ok"
        ready = await client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"database": "failing"}
        await client.post("/api/v1/notes", json={"text": "hi", "priority": 1}, headers=ADMIN)
        metrics = await client.get("/metrics")
        assert metrics.status_code == 200
        assert 'hotline_http_requests_total{method="POST",route="/api/v1/notes"' in metrics.text


async def test_demo_service_is_ready(tmp_path: Path) -> None:
    app = build_app(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    await seed(app)
    async for client in _client(app):
        assert (await client.get("/health/ready")).status_code == 200
    await app.state.engine.dispose()


async def test_a_database_outage_is_a_503_to_retry_not_a_500(client: httpx.AsyncClient) -> None:
    # a PostgreSQL restart under load (issue 14's chaos run): the caller is told to try again, not that it broke
    response = await client.get("/api/v1/database-down", headers=ADMIN)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    error = response.json()["error"]
    assert error["code"] == "unavailable" and "try again" in error["message"]
    assert "SELECT" not in response.text and "connect call" not in response.text
