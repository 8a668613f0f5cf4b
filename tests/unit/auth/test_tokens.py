"""Tokens and API keys: what is accepted, and the 401 messages for what is not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from hotline.cli import app as cli
from shared.auth import AuthSettings, Role, decode_token, hash_api_key, new_api_key, parse_ttl
from tests.unit.auth.demo import SECRET, auth_settings, bearer, token

pytestmark = pytest.mark.unit

URL = "/api/v1/tickets/T1"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing bearer token"),
        ({"Authorization": "Basic dXNlcjpwdw=="}, "Authorization header must be 'Bearer <token>'"),
        (bearer("not-a-jwt"), "token is malformed"),
        (bearer(token(Role.AGENT, at=datetime.now(UTC) - timedelta(hours=9))), "token expired"),
        (
            bearer(token(Role.AGENT, settings=AuthSettings(jwt_secret="another-secret-" * 4))),
            "token signature is invalid",
        ),
        (
            bearer(token(Role.AGENT, settings=auth_settings(jwt_audience="someone-else"))),
            "token is for another audience",
        ),
        (
            bearer(token(Role.AGENT, settings=auth_settings(jwt_issuer="mallory"))),
            "token is from an unknown issuer",
        ),
        ({"X-API-Key": "hk_guessed"}, "API key is not recognised"),
    ],
)
async def test_bad_credentials_get_401_with_a_clear_message(
    client: httpx.AsyncClient, headers: dict[str, str], message: str
) -> None:
    response = await client.get(URL, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "unauthenticated", "message": message, "fields": []}}
    assert response.headers["WWW-Authenticate"] == "Bearer"


def _raw(claims: dict[str, Any], key: str = SECRET, algorithm: str = "HS256") -> str:
    now = int(datetime.now(UTC).timestamp())
    base = {"iss": "gas-hotline", "aud": "gas-hotline-api", "iat": now, "exp": now + 600}
    return jwt.encode({**base, **claims}, key, algorithm)


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"role": "agent", "branch": "nn"}, "token lacks the 'sub' claim"),
        ({"sub": "x", "role": "root", "branch": "nn"}, "token has an unknown role"),
        ({"sub": "x", "role": "agent"}, "token lacks the 'branch' claim"),
        ({"sub": "x", "role": "unit_handler", "branch": "nn"}, "token lacks the 'unit' claim"),
    ],
)
def test_claims_are_checked(claims: dict[str, Any], message: str) -> None:
    with pytest.raises(Exception, match=message):
        decode_token(auth_settings(), _raw(claims))


@pytest.mark.parametrize(
    "claims",
    [
        {"role": "unit_handler", "unit": ["u1", "u2"]},
        {"role": "unit_handler", "unit": 7},
        {"role": "unit_handler", "unit": ""},
        {"role": "division_supervisor", "division": {"id": "d1"}},
        {"role": "division_supervisor", "division": True},
        {"role": "agent", "unit": ["u1"]},
        {"role": "agent", "branch": ["nn", "gz"]},
        {"role": "agent", "sub": 42},
    ],
)
async def test_a_signed_token_with_a_scope_claim_of_the_wrong_type_is_a_401(
    client: httpx.AsyncClient, claims: dict[str, Any]
) -> None:
    # issue 14 #5: a unit that is a list or a number used to widen the scope to the whole branch
    response = await client.get("/api/v1/tickets", headers=bearer(_raw({"sub": "x", "branch": "nn", **claims})))
    assert response.status_code == 401, response.text
    message = response.json()["error"]["message"]
    assert "claim" in message or message == "token is malformed"  # PyJWT itself refuses a non-string sub


async def test_a_token_living_longer_than_the_cap_is_refused_whoever_signed_it(client: httpx.AsyncClient) -> None:
    # issue 14 #11: the 24 h cap applied only when issuing; a ten-year token was accepted
    now = int(datetime.now(UTC).timestamp())
    ten_years = _raw({"sub": "x", "role": "agent", "branch": "nn", "iat": now, "exp": now + 10 * 365 * 86400})
    response = await client.get(URL, headers=bearer(ten_years))
    assert response.status_code == 401
    assert "lifetime" in response.json()["error"]["message"]
    day = _raw({"sub": "x", "role": "agent", "branch": "nn", "iat": now, "exp": now + 86400})
    assert (await client.get(URL, headers=bearer(day))).status_code != 401


def test_alg_none_is_refused() -> None:
    unsigned = jwt.encode({"sub": "x", "role": "admin", "branch": "nn"}, None, algorithm="none")
    with pytest.raises(Exception, match="token"):
        decode_token(auth_settings(), unsigned)


def test_a_token_round_trips_into_a_principal() -> None:
    principal = decode_token(auth_settings(), token(Role.UNIT_HANDLER, unit="u1", subject="wang"))
    assert (principal.subject, principal.role, principal.branch, principal.unit) == (
        "wang",
        Role.UNIT_HANDLER,
        "nn",
        "u1",
    )
    assert principal.token_id


async def test_an_api_key_is_an_integration_principal(app: Any, client: httpx.AsyncClient) -> None:
    key = new_api_key()
    app.state.auth_settings = auth_settings(
        api_keys=[{"name": "cti-nanning", "branch": "nn", "sha256": hash_api_key(key)}]
    )
    body = {"call_id": "c-9", "caller_number": "13812345678"}
    response = await client.post("/api/v1/calls", json=body, headers={"X-API-Key": key})
    assert response.status_code == 201
    # a machine key opens machine routes only
    assert (await client.get(URL, headers={"X-API-Key": key})).status_code == 403


def test_settings_refuse_a_missing_or_short_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOTLINE_JWT_SECRET", raising=False)
    with pytest.raises(ValidationError, match="HOTLINE_JWT_SECRET is not set"):
        AuthSettings()
    monkeypatch.setenv("HOTLINE_JWT_SECRET", "short")
    with pytest.raises(ValidationError, match="at least 32"):
        AuthSettings()


@pytest.mark.parametrize(("text", "hours"), [("8h", 8), ("30m", 0.5), ("2d", 48), ("90s", 0.025)])
def test_parse_ttl(text: str, hours: float) -> None:
    assert parse_ttl(text) == timedelta(hours=hours)


def test_cli_issues_a_token_that_verifies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_JWT_SECRET", SECRET)
    result = CliRunner().invoke(
        cli,
        [
            "auth",
            "issue-token",
            "--role",
            "division_supervisor",
            "--branch",
            "nn",
            "--division",
            "d1",
            "--ttl",
            "2h",
            "--subject",
            "li",
        ],
    )
    assert result.exit_code == 0, result.output
    principal = decode_token(auth_settings(), result.stdout.strip())
    assert (principal.subject, principal.role, principal.division) == (
        "li",
        Role.DIVISION_SUPERVISOR,
        "d1",
    )


@pytest.mark.parametrize(
    ("args", "argument"),
    [
        (["--role", "boss", "--branch", "nn"], "--role"),
        (["--role", "agent", "--branch", "nn", "--ttl", "forever"], "--ttl"),
        (["--role", "unit_handler", "--branch", "nn"], "token"),
        (["--role", "agent", "--branch", "nn", "--ttl", "30d"], "token"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch, args: list[str], argument: str) -> None:
    monkeypatch.setenv("HOTLINE_JWT_SECRET", SECRET)
    result = CliRunner().invoke(cli, ["auth", "issue-token", *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"hotline: error: {argument}:")


def test_cli_without_secret_fails_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOTLINE_JWT_SECRET", raising=False)
    result = CliRunner().invoke(cli, ["auth", "issue-token", "--role", "agent", "--branch", "nn"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "hotline: error: configuration: HOTLINE_JWT_SECRET is not set"


def test_cli_new_api_key_prints_key_and_its_hash() -> None:
    result = CliRunner().invoke(cli, ["auth", "new-api-key", "--name", "gw12345", "--branch", "nn"])
    assert result.exit_code == 0
    key = result.stdout.splitlines()[0].split()[-1]
    assert hash_api_key(key) in result.stdout
