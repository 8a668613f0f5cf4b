"""The demo directory of `hotline up`: one person per role in the demo branch, passwords made once."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from shared.runtime import ServiceSettings


@dataclass(frozen=True)
class DemoPerson:
    role: str
    username: str
    scope: str
    password: str


def demo_people(org: Mapping[str, Any], branch: str) -> list[tuple[str, str, dict[str, str]]]:
    """(role, username, scope claims) of the demo branch: a unit handler and a division supervisor of the first ones."""
    units = org.get("units", [])
    divisions = org.get("divisions", [])
    people: list[tuple[str, str, dict[str, str]]] = [("agent", "demo.agent", {})]
    if units:
        # the unit's division too: what the unit drafts for the knowledge base goes to its division's review
        handler = {"unit": str(units[0]["id"])} | (
            {"division": str(units[0]["division"])} if units[0].get("division") else {}
        )
        people.append(("unit_handler", "demo.handler", handler))
    if divisions:
        people.append(("division_supervisor", "demo.division", {"division": str(divisions[0]["id"])}))
    people += [("center_supervisor", "demo.center", {}), ("auditor", "demo.auditor", {}), ("admin", "demo.admin", {})]
    return people


def ensure_demo_directory(
    env: Mapping[str, str], org: Mapping[str, Any], branch: str, passwords_file: Path
) -> list[DemoPerson]:
    """Create the demo people that are missing (new random passwords, appended to `passwords_file`).

    Returns every demo person with a known password (those of earlier runs read back from the file).
    """
    from services.identity.bootstrap import build, migrate
    from services.identity.handlers.common import cli_actor
    from services.identity.handlers.directory import create_person
    from services.identity.schemas import PersonCreate
    from shared.db import transaction

    settings, url = _identity_database(env)
    known = read_passwords(passwords_file)
    wanted = demo_people(org, branch)

    async def main() -> list[DemoPerson]:
        from services.identity import store

        await asyncio.to_thread(migrate, url)
        service = build(settings, database_url=url)
        made: list[DemoPerson] = []
        try:
            async with transaction(service.sessions) as session:
                for role, username, claims in wanted:
                    if await store.person_by_username(session, username) is not None:
                        continue
                    password = "demo-" + secrets.token_urlsafe(12)
                    body = PersonCreate(
                        branch=branch,
                        username=username,
                        display_name=f"Demo {role.replace('_', ' ')}",
                        roles=[role],
                        password=password,
                        **claims,  # type: ignore[arg-type]
                    )
                    await create_person(session, service.identity, cli_actor(branch), body)
                    scope = claims.get("unit") or claims.get("division") or branch
                    made.append(DemoPerson(role, username, scope, password))
        finally:
            await service.close()
        return made

    made = asyncio.run(main())
    if made:
        passwords_file.parent.mkdir(parents=True, exist_ok=True)
        with passwords_file.open("a") as out:
            out.writelines(f"{p.role}\t{p.username}\t{p.scope}\t{p.password}\n" for p in made)
        passwords_file.chmod(0o600)
    return [*known, *made]


def _identity_database(env: Mapping[str, str]) -> tuple[ServiceSettings, str]:
    """The settings and identity database URL the processes started with `env` will use."""
    settings = ServiceSettings(database_url=env.get("DATABASE_URL"))
    if env.get("HOTLINE_STATE_DIR"):
        settings = settings.model_copy(update={"state_dir": Path(env["HOTLINE_STATE_DIR"])})
    return settings, settings.database_url_for("identity", env)


def machine_key(env: Mapping[str, str], branch: str, client: str, scopes: list[str]) -> str:
    """A new identity API key for `client` (its earlier keys revoked): shown to the client only."""
    from services.identity import store
    from services.identity.bootstrap import build, migrate
    from services.identity.handlers.common import cli_actor
    from services.identity.handlers.machines import create_key, revoke_key
    from services.identity.schemas import ApiKeyCreate
    from shared.db import transaction

    settings, url = _identity_database(env)

    async def main() -> str:
        await asyncio.to_thread(migrate, url)
        service = build(settings, database_url=url)
        try:
            async with transaction(service.sessions) as session:
                actor = cli_actor(branch)
                for old in await store.api_keys_of(session, branch):
                    if old.name == client:
                        await revoke_key(session, service.identity, actor, old)
                body = ApiKeyCreate(branch=branch, client=client, scopes=scopes)
                return (await create_key(session, service.identity, actor, body)).key
        finally:
            await service.close()

    return asyncio.run(main())


def read_passwords(path: Path) -> list[DemoPerson]:
    if not path.is_file():
        return []
    people = []
    for line in path.read_text().splitlines():
        parts = line.split("\t")
        if len(parts) == 4:
            people.append(DemoPerson(*parts))
    return people


def sign_in_all(identity_url: str, people: list[DemoPerson]) -> list[tuple[str, str, str]]:
    """(role, scope, access token) per demo person, signed in through identity's login endpoint."""
    rows: list[tuple[str, str, str]] = []
    with httpx.Client(base_url=identity_url, timeout=10.0) as client:
        for person in people:
            body = {"username": person.username, "password": person.password}
            response = client.post("/api/v1/auth/login", json=body)
            if response.status_code == 200:
                rows.append((person.role, person.scope, response.json()["access_token"]))
    return rows
