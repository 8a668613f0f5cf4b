"""A handler's domain error becomes the one error body with its kind's status, once, in create_app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest

from shared.auth import Principal, Role, SecureRouter, require_roles
from shared.errors import (
    BadRequest,
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    Locked,
    NotFound,
    OutOfScope,
    TooLarge,
    TooManyRequests,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
)
from shared.http.app import create_app
from shared.http.settings import HttpSettings
from tests.unit.auth.demo import auth_settings, bearer, token

pytestmark = pytest.mark.unit

ADMIN = bearer(token(Role.ADMIN))
KINDS: dict[str, tuple[type[DomainError], int, str]] = {
    "bad_request": (BadRequest, 400, "bad_request"),
    "unauthenticated": (Unauthenticated, 401, "unauthenticated"),
    "forbidden": (Forbidden, 403, "forbidden"),
    "out_of_scope": (OutOfScope, 403, "out_of_scope"),
    "not_found": (NotFound, 404, "not_found"),
    "conflict": (Conflict, 409, "conflict"),
    "too_large": (TooLarge, 413, "payload_too_large"),
    "media": (UnsupportedMediaType, 415, "unsupported_media_type"),
    "invalid": (Invalid, 422, "validation_failed"),
    "locked": (Locked, 423, "locked"),
    "too_many": (TooManyRequests, 429, "too_many_requests"),
    "unavailable": (Unavailable, 503, "unavailable"),
}


class NoSuchCallback(NotFound):
    """A service's own kind answers as the shared kind it extends."""


router = SecureRouter(prefix="/api/v1")


@router.get("/refuse/{kind}")
async def refuse(kind: str, p: Annotated[Principal, require_roles(Role.ADMIN)]) -> None:
    if kind == "own":
        raise NoSuchCallback("callback 7 not found")
    if kind == "wait":
        raise TooManyRequests("too many sign-in attempts; wait and try again", code="rate_limited", retry_after=30)
    if kind == "phone":
        raise Invalid.on("body.phone", "13812345678 is not a number of this branch", code="bad_phone")
    raise KINDS[kind][0](f"refused as {kind}")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app("errors", HttpSettings(), router, auth=auth_settings())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_each_kind_answers_its_status_and_code(client: httpx.AsyncClient, kind: str) -> None:
    _, status, code = KINDS[kind]
    response = await client.get(f"/api/v1/refuse/{kind}", headers=ADMIN)
    assert response.status_code == status
    assert response.json() == {"error": {"code": code, "message": f"refused as {kind}", "fields": []}}
    assert ("www-authenticate" in response.headers) is (status == 401)


async def test_a_services_own_kind_answers_as_the_kind_it_extends(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/refuse/own", headers=ADMIN)
    assert response.status_code == 404
    assert response.json()["error"] == {"code": "not_found", "message": "callback 7 not found", "fields": []}


async def test_a_field_error_names_the_field_with_its_own_code_and_masks_the_phone(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/refuse/phone", headers=ADMIN)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "bad_phone"
    assert [f["field"] for f in error["fields"]] == ["body.phone"]
    assert "13812345678" not in response.text


async def test_a_refusal_that_passes_names_when_to_try_again(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/refuse/wait", headers=ADMIN)
    assert response.status_code == 429 and response.headers["Retry-After"] == "30"
    assert response.json()["error"]["code"] == "rate_limited"
    plain = await client.get("/api/v1/refuse/locked", headers=ADMIN)
    assert plain.status_code == 423 and "retry-after" not in plain.headers  # only when the handler knows it
