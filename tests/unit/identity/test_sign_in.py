"""Sign-in through the identity API: tokens the services accept, refresh rotation, sign-out, lockout."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from services.identity.bootstrap import IdentityService
from shared.auth import AuthSettings, Role, decode_token
from shared.auth.jwks import JwksCache, register_cache
from shared.http.errors import ApiError
from tests.unit.identity.conftest import PASSWORD, add_person


def verifier(jwks: dict[str, object], url: str) -> AuthSettings:
    """A service's settings verifying against `jwks` (as served by identity at `url`)."""
    register_cache(JwksCache(url, fetch=lambda _u: jwks))  # type: ignore[arg-type, return-value]
    return AuthSettings(jwks_url=url)


async def login(client: httpx.AsyncClient, username: str, password: str = PASSWORD, **extra: str) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"username": username, "password": password, **extra})


async def test_sign_in_gives_an_eddsa_token_a_service_accepts_through_the_jwks(
    identity: IdentityService, client: httpx.AsyncClient
) -> None:
    await add_person(identity, "li.na", "unit_handler", "agent", unit="U-QINGXIU")
    response = await login(client, "li.na")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["expires_in"] <= 15 * 60 and body["refresh_token"] and body["role"] == "unit_handler"
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "EdDSA" and header["kid"]
    jwks = (await client.get("/.well-known/jwks.json")).json()
    assert [k["kid"] for k in jwks["keys"]] == [header["kid"]]
    assert all("d" not in k for k in jwks["keys"])  # public keys only
    principal = decode_token(verifier(jwks, "http://identity/jwks-a"), body["access_token"])
    assert (principal.subject, principal.role, principal.branch, principal.unit) == (
        "li.na",
        Role.UNIT_HANDLER,
        "demo",
        "U-QINGXIU",
    )


async def test_a_person_picks_one_of_their_roles_and_no_other(
    identity: IdentityService, client: httpx.AsyncClient
) -> None:
    await add_person(identity, "wang.fang", "agent", "center_supervisor")
    acting = await login(client, "wang.fang", role="center_supervisor")
    assert acting.json()["role"] == "center_supervisor"
    refused = await login(client, "wang.fang", role="admin")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "role_not_held"


async def test_hs256_tokens_are_refused_by_a_jwks_service_whatever_the_secret(identity: IdentityService) -> None:
    settings = verifier({"keys": []}, "http://identity/jwks-b")
    now = int(time.time())
    claims = {"sub": "x", "role": "admin", "branch": "demo", "iss": "gas-hotline", "aud": "gas-hotline-api"}
    forged = jwt.encode({**claims, "iat": now, "exp": now + 60}, "s" * 40, algorithm="HS256")
    with pytest.raises(ApiError) as refused:
        decode_token(settings, forged)
    assert refused.value.status_code == 401 and "algorithm" in str(refused.value.detail)
    dev = AuthSettings(jwks_url="http://identity/jwks-b", jwt_dev_hs256=True, jwt_secret="s" * 40)  # type: ignore[arg-type]
    assert decode_token(dev, forged).role is Role.ADMIN


async def test_unknown_user_and_wrong_password_get_the_same_answer(
    identity: IdentityService, client: httpx.AsyncClient
) -> None:
    await add_person(identity, "zhao.lei", "agent")
    wrong = await login(client, "zhao.lei", "not the password")
    unknown = await login(client, "nobody.here", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


async def test_refresh_rotates_and_a_replayed_token_ends_the_sign_in(
    identity: IdentityService, client: httpx.AsyncClient
) -> None:
    await add_person(identity, "sun.li", "agent")
    first = (await login(client, "sun.li")).json()
    second = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200 and second.json()["refresh_token"] != first["refresh_token"]
    replay = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "refresh_reused"
    # the thief's replay also ended the legitimate holder's newer token
    after = await client.post("/api/v1/auth/refresh", json={"refresh_token": second.json()["refresh_token"]})
    assert after.status_code == 401 and after.json()["error"]["code"] == "refresh_revoked"


async def test_sign_out_revokes_the_refresh_token(identity: IdentityService, client: httpx.AsyncClient) -> None:
    await add_person(identity, "qian.yu", "auditor")
    pair = (await login(client, "qian.yu")).json()
    assert (await client.post("/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]})).status_code == 204
    again = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert again.status_code == 401 and "revoked" in again.json()["error"]["message"]


async def test_repeated_failures_lock_the_account_and_say_until_when(
    identity: IdentityService, client: httpx.AsyncClient
) -> None:
    await add_person(identity, "zhou.min", "agent")
    answers = [await login(client, "zhou.min", f"wrong password {i}") for i in range(5)]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 423]
    locked = await login(client, "zhou.min")  # even the right password, while locked
    assert locked.status_code == 423
    assert 14 * 60 < int(locked.headers["Retry-After"]) <= 15 * 60 + 1
    assert "until 20" in locked.json()["error"]["message"] and "+08:00" in locked.json()["error"]["message"]
    await add_person(identity, "zhou.audit", "auditor")
    auditor = (await login(client, "zhou.audit")).json()["access_token"]
    audit = await client.get(
        "/api/v1/audit", params={"subject": "zhou.min"}, headers={"Authorization": f"Bearer {auditor}"}
    )
    outcomes = [(r["action"], r["outcome"]) for r in reversed(audit.json()["records"])]
    assert outcomes == [("sign_in_failed", "bad_password")] * 5 + [("locked_out", "ok"), ("sign_in_failed", "locked")]


async def test_sign_in_is_rate_limited_per_username(identity: IdentityService, client: httpx.AsyncClient) -> None:
    codes = [(await login(client, "ghost", "x")).status_code for _ in range(11)]
    assert codes[:10] == [401] * 10 and codes[10] == 429


async def test_a_token_of_a_foreign_key_or_expired_is_refused_naming_why(
    identity: IdentityService, client: httpx.AsyncClient
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    await add_person(identity, "xu.ke", "agent")
    good = (await login(client, "xu.ke")).json()["access_token"]
    jwks = (await client.get("/.well-known/jwks.json")).json()
    settings = verifier(jwks, "http://identity/jwks-c")
    claims = jwt.decode(good, options={"verify_signature": False})
    kid = jwt.get_unverified_header(good)["kid"]
    foreign = Ed25519PrivateKey.generate()
    reasons = {}
    for name, token in {
        "unknown kid": jwt.encode(claims, foreign, algorithm="EdDSA", headers={"kid": "not-identity"}),
        "identity's kid, another key": jwt.encode(claims, foreign, algorithm="EdDSA", headers={"kid": kid}),
    }.items():
        with pytest.raises(ApiError) as refused:
            decode_token(settings, token)
        assert refused.value.status_code == 401
        reasons[name] = refused.value.detail
    assert reasons["unknown kid"] == "token is signed by an unknown key"
    assert reasons["identity's kid, another key"] == "token signature is invalid"
    expired = identity.identity.keys.sign({**claims, "exp": int(time.time()) - 120}, identity.identity.clock.now())
    with pytest.raises(ApiError, match="expired"):
        decode_token(settings, expired)


async def test_the_api_counts_sign_ins_by_outcome_on_its_metrics(
    identity: IdentityService, client: httpx.AsyncClient
) -> None:
    await add_person(identity, "fan.bo", "agent")
    await login(client, "fan.bo")
    await login(client, "fan.bo", "wrong password")
    await login(client, "nobody", "wrong password")
    metrics = (await client.get("/metrics")).text
    for outcome in ("ok", "bad_password", "unknown_user"):
        assert f'identity_sign_ins_total{{outcome="{outcome}"}} 1.0' in metrics
