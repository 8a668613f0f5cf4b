"""Admins and people through the identity API: reset and change, TOTP, branch scope, machine keys, audit, import."""

from __future__ import annotations

import time

import httpx
import pyotp

from services.identity.bootstrap import IdentityService
from services.identity.handlers.common import cli_actor
from services.identity.handlers.directory import import_people
from tests.unit.identity.conftest import PASSWORD, add_person

NEW_PASSWORD = "another quite long passphrase"


async def bearer(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_an_admin_reset_makes_the_person_choose_a_new_password_before_signing_in(
    identity: IdentityService, client: httpx.AsyncClient
) -> None:
    await add_person(identity, "boss", "admin")
    await add_person(identity, "he.jun", "agent")
    admin = await bearer(client, "boss")
    reset = await client.post(
        "/api/v1/people/he.jun/reset-password", json={"temporary_password": "temporary pass 2026"}, headers=admin
    )
    assert reset.status_code == 200 and reset.json()["must_change_password"] is True
    assert (
        await client.post("/api/v1/auth/login", json={"username": "he.jun", "password": PASSWORD})
    ).status_code == 401
    blocked = await client.post("/api/v1/auth/login", json={"username": "he.jun", "password": "temporary pass 2026"})
    assert blocked.status_code == 403 and blocked.json()["error"]["code"] == "password_change_required"
    weak = await client.post(
        "/api/v1/auth/password",
        json={"username": "he.jun", "current_password": "temporary pass 2026", "new_password": "he.jun-password"},
    )
    assert weak.status_code == 422 and weak.json()["error"]["fields"][0]["field"] == "body.new_password"
    changed = await client.post(
        "/api/v1/auth/password",
        json={"username": "he.jun", "current_password": "temporary pass 2026", "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 200 and changed.json()["access_token"]
    assert (await bearer(client, "he.jun", NEW_PASSWORD))["Authorization"]


async def test_a_password_change_ends_the_other_sign_ins(identity: IdentityService, client: httpx.AsyncClient) -> None:
    await add_person(identity, "lu.yan", "agent")
    other = (await client.post("/api/v1/auth/login", json={"username": "lu.yan", "password": PASSWORD})).json()
    await client.post(
        "/api/v1/auth/password", json={"username": "lu.yan", "current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    refreshed = await client.post("/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert refreshed.status_code == 401 and "password_changed" in refreshed.json()["error"]["message"]


async def test_totp_required_for_a_role_by_branch_setting(identity: IdentityService, client: httpx.AsyncClient) -> None:
    await add_person(identity, "boss", "admin")
    await add_person(identity, "ma.li", "center_supervisor")
    admin = await bearer(client, "boss")
    put = await client.put(
        "/api/v1/branches/demo/sign-in", json={"totp_required_roles": ["center_supervisor"]}, headers=admin
    )
    assert put.status_code == 204
    first = await client.post("/api/v1/auth/login", json={"username": "ma.li", "password": PASSWORD})
    assert first.status_code == 403 and first.json()["error"]["code"] == "totp_enrolment_required"
    enrol = await client.post("/api/v1/auth/totp/enrol", json={"username": "ma.li", "password": PASSWORD})
    totp = pyotp.TOTP(enrol.json()["secret"])
    confirm = await client.post(
        "/api/v1/auth/totp/confirm", json={"username": "ma.li", "password": PASSWORD, "totp": totp.now()}
    )
    assert confirm.status_code == 204
    no_code = await client.post("/api/v1/auth/login", json={"username": "ma.li", "password": PASSWORD})
    assert no_code.status_code == 401 and no_code.json()["error"]["code"] == "totp_required"
    # the confirmation spent the current code; the next step's code signs in, and only once
    code = totp.at(time.time() + totp.interval)
    ok = await client.post("/api/v1/auth/login", json={"username": "ma.li", "password": PASSWORD, "totp": code})
    assert ok.status_code == 200, ok.text
    replay = await client.post("/api/v1/auth/login", json={"username": "ma.li", "password": PASSWORD, "totp": code})
    assert replay.status_code == 401
    # a lost phone: the admin removes the factor, and the branch rule asks for a new enrolment
    reset = await client.post("/api/v1/people/ma.li/reset-totp", headers=admin)
    assert reset.status_code == 200 and reset.json()["totp_enabled"] is False
    again = await client.post("/api/v1/auth/login", json={"username": "ma.li", "password": PASSWORD})
    assert again.json()["error"]["code"] == "totp_enrolment_required"


async def test_a_branch_admin_acts_on_their_branch_only_a_group_admin_on_all(
    identity: IdentityService, client: httpx.AsyncClient
) -> None:
    await add_person(identity, "demo.boss", "admin")
    await add_person(identity, "group.boss", "admin", group_admin=True)
    await add_person(identity, "far.away", "agent", branch="default")
    branch_admin, group_admin = await bearer(client, "demo.boss"), await bearer(client, "group.boss")
    assert (await client.post("/api/v1/people/far.away/disable", headers=branch_admin)).status_code == 404
    listing = await client.get("/api/v1/people", params={"branch": "default"}, headers=branch_admin)
    assert listing.status_code == 403
    assert (await client.post("/api/v1/people/far.away/disable", headers=group_admin)).status_code == 200
    agent_call = await client.get("/api/v1/people", headers=await bearer(client, "demo.boss"))
    assert agent_call.status_code == 200 and "far.away" not in agent_call.text


async def test_people_are_shown_with_masked_phones_and_role_changes_are_audited(
    identity: IdentityService, client: httpx.AsyncClient
) -> None:
    await add_person(identity, "boss", "admin")
    await add_person(identity, "checker", "auditor")
    await add_person(identity, "tang.wei", "agent", phone="13800001234")
    admin = await bearer(client, "boss")
    shown = await client.get("/api/v1/people/tang.wei", headers=admin)
    assert shown.json()["phone"] != "+8613800001234" and "1234" in shown.json()["phone"]
    patched = await client.patch(
        "/api/v1/people/tang.wei", json={"roles": ["unit_handler"], "unit": "U-QINGXIU"}, headers=admin
    )
    assert patched.status_code == 200
    bad = await client.patch("/api/v1/people/tang.wei", json={"roles": ["division_supervisor"]}, headers=admin)
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "body.division"
    await client.post("/api/v1/auth/login", json={"username": "tang.wei", "password": "wrong one"})
    audit = await client.get("/api/v1/audit", headers=await bearer(client, "checker"))
    actions = [(r["action"], r["subject"]) for r in audit.json()["records"]]
    assert ("role_changed", "boss") in actions and ("sign_in_failed", "tang.wei") in actions
    failed = next(r for r in audit.json()["records"] if r["action"] == "sign_in_failed")
    assert failed["detail"]["client_ip"]  # from where (masked when shown)


async def test_machine_keys_are_shown_once_trade_for_tokens_and_die_when_revoked(
    identity: IdentityService, client: httpx.AsyncClient
) -> None:
    await add_person(identity, "boss", "admin")
    admin = await bearer(client, "boss")
    made = await client.post(
        "/api/v1/api-keys",
        json={"branch": "demo", "client": "gateway-12345", "scopes": ["tickets:create"]},
        headers=admin,
    )
    assert made.status_code == 201
    key = made.json()["key"]
    listed = (await client.get("/api/v1/api-keys", headers=admin)).json()["keys"]
    assert [k["client"] for k in listed] == ["gateway-12345"] and "key" not in listed[0]
    token = await client.post("/api/v1/auth/token", json={"api_key": key})
    assert token.status_code == 200 and token.json()["scopes"] == ["tickets:create"]
    rotated = await client.post(f"/api/v1/api-keys/{made.json()['id']}/rotate", headers=admin)
    assert rotated.status_code == 201
    assert (await client.post("/api/v1/auth/token", json={"api_key": key})).status_code == 401
    new_key = rotated.json()["key"]
    assert (await client.post("/api/v1/auth/token", json={"api_key": new_key})).status_code == 200
    await client.post(f"/api/v1/api-keys/{rotated.json()['id']}/revoke", headers=admin)
    assert (await client.post("/api/v1/auth/token", json={"api_key": new_key})).status_code == 401


async def test_an_import_with_bad_rows_imports_none_and_names_every_bad_line(identity: IdentityService) -> None:
    await add_person(identity, "taken.name", "agent")
    text = (
        "username,display_name,roles,unit,division,phone\n"
        "good.one,甲,agent,,,\n"
        "bad.role,乙,boss,,,\n"
        "taken.name,丙,agent,,,\n"
        "no.unit,丁,unit_handler,,,\n"
        "good.one,戊,agent,,,\n"
        "good.two,己,agent;auditor,,,13800001111\n"
    )
    async with identity.sessions() as session, session.begin():
        report = await import_people(session, identity.identity, cli_actor("demo"), "demo", text)
    assert report.created == 0
    assert [r.line for r in report.rejected] == [3, 4, 5, 6]
    async with identity.sessions() as session, session.begin():
        clean = "username,roles\ngood.one,agent\ngood.two,agent|auditor\n"
        assert (await import_people(session, identity.identity, cli_actor("demo"), "demo", clean)).created == 2


async def test_the_import_route_names_the_bad_lines_and_imports_nothing(
    identity: IdentityService, client: httpx.AsyncClient
) -> None:
    await add_person(identity, "boss", "admin")
    admin = await bearer(client, "boss")
    bad = await client.post(
        "/api/v1/people/import", json={"csv": "username,roles\nok.one,agent\nbad.one,boss\n"}, headers=admin
    )
    assert bad.status_code == 422 and [f["field"] for f in bad.json()["error"]["fields"]] == ["line 3"]
    assert "ok.one" not in (await client.get("/api/v1/people", headers=admin)).text
    good = await client.post("/api/v1/people/import", json={"csv": "username,roles\nok.one,agent\n"}, headers=admin)
    assert good.status_code == 200 and good.json()["created"] == 1
