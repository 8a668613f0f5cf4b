"""Single sign-on against a real Keycloak: the browser's redirect flow followed with httpx, groups mapped to roles."""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import jwt
import pytest

from hotline.infra.keycloak import KeycloakProcess, fetch
from hotline.infra.process import InfraError
from hotline.infra.settings import InfraSettings
from tests.conftest import cannot_start
from tests.integration.identity.conftest import IdentityProcess, free_port

REALM = "gas-branch-demo"
CLIENT_SECRET = "identity-client-secret-for-tests"
ADMIN_PASSWORD = "an admin passphrase for tests"


def realm(users: dict[str, tuple[str, list[str]]]) -> dict[str, object]:
    """A branch's company directory: groups for roles and units, a confidential client with a groups mapper."""
    return {
        "realm": REALM,
        "enabled": True,
        "groups": [
            {"name": "hotline", "subGroups": [{"name": "handlers"}, {"name": "agents"}]},
            {"name": "units", "subGroups": [{"name": "qingxiu"}]},
            {"name": "canteen"},
        ],
        "clients": [
            {
                "clientId": "hotline-identity",
                "enabled": True,
                "publicClient": False,
                "secret": CLIENT_SECRET,
                "standardFlowEnabled": True,
                "directAccessGrantsEnabled": False,
                "redirectUris": ["http://127.0.0.1:*"],
                "attributes": {"pkce.code.challenge.method": "S256"},
                "protocolMappers": [
                    {
                        "name": "groups",
                        "protocol": "openid-connect",
                        "protocolMapper": "oidc-group-membership-mapper",
                        "config": {
                            "claim.name": "groups",
                            "full.path": "true",
                            "id.token.claim": "true",
                            "access.token.claim": "true",
                            "userinfo.token.claim": "true",
                        },
                    }
                ],
            }
        ],
        "users": [
            {
                "username": name,
                "enabled": True,
                "email": f"{name}@branch.example",
                "emailVerified": True,
                "firstName": name.split(".")[0],
                "lastName": name.split(".")[-1],
                "credentials": [{"type": "password", "value": password, "temporary": False}],
                "groups": groups,
            }
            for name, (password, groups) in users.items()
        ],
    }


USERS = {
    "wu.gang": ("wu gang's long passphrase", ["/hotline/handlers", "/hotline/agents", "/units/qingxiu"]),
    "cook.only": ("the cook's long passphrase", ["/canteen"]),
}


@pytest.fixture(scope="module")
def keycloak(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeycloakProcess]:
    folder = tmp_path_factory.mktemp("keycloak")
    try:
        home = fetch(InfraSettings())
        server = KeycloakProcess(home, free_port(), folder / "keycloak.log", secrets.token_urlsafe(16))
        server.start()
    except InfraError as error:
        cannot_start("Keycloak", error)  # fails under CI=true, like the broker and the database
        raise
    try:
        server.import_realm(realm(USERS))
        yield server
    finally:
        server.stop()


def admin_headers(identity: IdentityProcess) -> dict[str, str]:
    made = identity.cli(
        "users", "add", "--branch", "demo", "--username", "sso.admin", "--role", "admin", "--password-stdin",
        stdin=ADMIN_PASSWORD + "\n",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    login = httpx.post(f"{identity.url}/api/v1/auth/login", json={"username": "sso.admin", "password": ADMIN_PASSWORD})
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def sign_in_through_keycloak(identity: IdentityProcess, username: str, password: str) -> httpx.Response:
    """What a browser does: identity → Keycloak's login page → post the form → back to identity's callback."""
    with httpx.Client(timeout=60) as browser:
        start = browser.get(f"{identity.url}/api/v1/auth/oidc/demo/start")
        assert start.status_code == 302, start.text
        authorize = start.headers["location"]
        query = parse_qs(urlparse(authorize).query)
        assert query["code_challenge_method"] == ["S256"] and query["code_challenge"] and query["nonce"]
        page = browser.get(authorize)
        assert page.status_code == 200 and "kc-form-login" in page.text, page.text[:500]
        action = html.unescape(re.search(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
        # Keycloak marks its cookies Secure; browsers send those to http://127.0.0.1 (a secure context), httpx does not
        cookies = "; ".join(f"{c.name}={c.value}" for c in browser.cookies.jar if c.domain == "127.0.0.1")
        form = {"username": username, "password": password, "credentialId": ""}
        posted = browser.post(action, data=form, headers={"Cookie": cookies})
        assert posted.status_code == 302, posted.text[:500]
        back = posted.headers["location"]
        assert back.startswith(f"{identity.url}/api/v1/auth/oidc/callback?"), back
        return browser.get(back)


def test_a_keycloak_user_signs_in_and_gets_the_roles_and_unit_its_groups_map_to(
    keycloak: KeycloakProcess, identity_process: IdentityProcess
) -> None:
    headers = admin_headers(identity_process)
    settings = {
        "oidc_issuer": f"{keycloak.url}/realms/{REALM}",
        "oidc_client_id": "hotline-identity",
        "oidc_client_secret": CLIENT_SECRET,
        "oidc_mapping": {
            "roles": {"/hotline/handlers": "unit_handler", "/hotline/agents": "agent"},
            "units": {"/units/qingxiu": "U-QINGXIU"},
        },
    }
    put = httpx.put(f"{identity_process.url}/api/v1/branches/demo/sign-in", json=settings, headers=headers)
    assert put.status_code == 204, put.text

    signed_in = sign_in_through_keycloak(identity_process, "wu.gang", USERS["wu.gang"][0])
    assert signed_in.status_code == 200, signed_in.text
    pair = signed_in.json()
    claims = jwt.decode(pair["access_token"], options={"verify_signature": False})
    assert (claims["sub"], claims["role"], claims["unit"], claims["roles"]) == (
        "wu.gang",
        "unit_handler",
        "U-QINGXIU",
        ["unit_handler", "agent"],
    )
    # the person is in the directory now, marked as signing in by SSO
    person = httpx.get(f"{identity_process.url}/api/v1/people/wu.gang", headers=headers).json()
    assert person["sso"] is True and person["roles"] == ["unit_handler", "agent"]
    # and their refresh token works like any other
    refreshed = httpx.post(
        f"{identity_process.url}/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"], "role": "agent"}
    )
    assert refreshed.status_code == 200 and refreshed.json()["role"] == "agent"

    refused = sign_in_through_keycloak(identity_process, "cook.only", USERS["cook.only"][0])
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "sso_no_role"


def test_a_callback_without_a_started_sign_in_is_refused(identity_process: IdentityProcess) -> None:
    replay = httpx.get(f"{identity_process.url}/api/v1/auth/oidc/callback", params={"code": "x", "state": "made-up"})
    assert replay.status_code == 400 and replay.json()["error"]["code"] == "sso_state_invalid"
