"""Issue 14 (fuzzing): identity's open routes document the error answers they give (schemathesis found 401s, a
404 and a 400 that the document left out)."""

from __future__ import annotations

import httpx


async def test_open_sign_in_routes_document_their_refusals(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]

    def codes(path: str, method: str = "post") -> set[str]:
        return set(paths[path][method]["responses"])

    assert {"401", "403", "423", "429"} <= codes("/api/v1/auth/login")
    assert {"401", "403"} <= codes("/api/v1/auth/refresh")
    assert {"401", "423", "429"} <= codes("/api/v1/auth/password")
    assert {"401", "423"} <= codes("/api/v1/auth/totp/enrol") & codes("/api/v1/auth/totp/confirm")
    assert "401" in codes("/api/v1/auth/token")
    assert "404" in codes("/api/v1/auth/oidc/{branch}/start", "get")
    assert {"400", "401"} <= codes("/api/v1/auth/oidc/callback", "get")
    error = paths["/api/v1/auth/login"]["post"]["responses"]["401"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/ErrorBody"}


async def test_a_wrong_password_is_a_documented_401(client: httpx.AsyncClient) -> None:
    answer = await client.post("/api/v1/auth/login", json={"username": "nobody", "password": "wrong-password-1"})
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "bad_credentials"
