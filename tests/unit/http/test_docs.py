"""Each API serves its interactive docs at /docs from the assets make setup installed, with no outside host."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from shared.http.app import create_app
from shared.http.docs import ASSETS_ENV
from shared.http.settings import HttpSettings
from tests.unit.auth.demo import auth_settings


async def _get(app: object, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(path)


async def test_the_docs_page_loads_only_its_own_assets_and_the_openapi_document() -> None:
    app = create_app("intake", HttpSettings(), auth=auth_settings())
    page = await _get(app, "/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/docs/assets/") for s in sources), sources
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for source in [*sources, "/openapi.json"]:
        response = await _get(app, source)
        assert response.status_code == 200, source
    bundle = await _get(app, "/docs/assets/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text
    assert '"/openapi.json"' in (await _get(app, "/docs/assets/init.js")).text


async def test_only_the_named_assets_are_served() -> None:
    app = create_app("intake", HttpSettings(), auth=auth_settings())
    for path in ("/docs/assets/package.json", "/docs/assets/..%2F..%2Fpyproject.toml", "/docs/assets/index.html"):
        response = await _get(app, path)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found", path


async def test_without_assets_docs_says_how_to_install_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ASSETS_ENV, str(tmp_path))
    response = await _get(create_app("intake", HttpSettings(), auth=auth_settings()), "/docs")
    assert response.status_code == 503 and "make setup" in response.json()["error"]["message"]


async def test_no_docs_when_the_openapi_document_is_switched_off() -> None:
    app = create_app("intake", HttpSettings(openapi=False), auth=auth_settings())
    assert (await _get(app, "/docs")).status_code == 404
