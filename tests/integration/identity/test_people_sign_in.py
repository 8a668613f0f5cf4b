"""Issue 15 on real PostgreSQL and Kafka: made by the CLI, signs in, works in intake, disabled, cannot refresh."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from services.intake.bootstrap import Intake, build, migrate
from services.intake.settings import TopicNames
from shared.auth import AuthSettings
from shared.events import Topic
from shared.runtime import ServiceSettings
from tests.conftest import TopicFactory
from tests.integration.identity.conftest import IdentityProcess
from tests.unit.intake.conftest import repair

PASSWORD = "a long and unusual passphrase"


@pytest.fixture
async def intake(fresh_database_url: str, kafka_bootstrap: str, new_topic: TopicFactory) -> AsyncIterator[Intake]:
    # intake on a database of its own (fresh_database_url is identity's: a second one is made here)
    from sqlalchemy.engine import make_url

    names = TopicNames({t: await new_topic(partitions=1, prefix=f"idn-{t.value}") for t in Topic})
    url = make_url(fresh_database_url)
    intake_url = url.set(database=f"{url.database}_intake").render_as_string(hide_password=False)
    import asyncpg

    admin = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database=url.database
    )
    await admin.execute(f'CREATE DATABASE "{url.database}_intake"')
    await admin.close()
    await asyncio.to_thread(migrate, intake_url)
    service = build(ServiceSettings(kafka_bootstrap=kafka_bootstrap), database_url=intake_url, topics=names)
    yield service
    await service.close()
    admin = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database=url.database
    )
    await admin.execute(f'DROP DATABASE IF EXISTS "{url.database}_intake" WITH (FORCE)')
    await admin.close()


async def test_a_person_made_with_the_cli_signs_in_works_in_intake_and_once_disabled_cannot_refresh(
    identity_process: IdentityProcess, intake: Intake
) -> None:
    add = ["users", "add", "--branch", "demo", "--username", "chen.jing", "--role", "agent", "--password-stdin"]
    made = identity_process.cli(*add, stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    bad = identity_process.cli(*add, stdin=PASSWORD + "\n")  # the same username again
    assert bad.returncode == 2 and bad.stdout == "" and len(bad.stderr.strip().splitlines()) == 1

    async with httpx.AsyncClient(base_url=identity_process.url) as identity:
        signed_in = await identity.post("/api/v1/auth/login", json={"username": "chen.jing", "password": PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
        pair = signed_in.json()

        # intake verifies the token against identity's JWKS over HTTP, with no shared secret
        verify = AuthSettings(jwks_url=identity_process.jwks_url)
        transport = httpx.ASGITransport(app=intake.api(auth=verify), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as api:
            bearer = {"Authorization": f"Bearer {pair['access_token']}"}
            created = await api.post("/api/v1/tickets", json=repair(branch="demo"), headers=bearer)
            assert created.status_code == 201, created.text

            disabled = identity_process.cli("users", "disable", "--username", "chen.jing")
            assert disabled.returncode == 0, disabled.stderr
            refreshed = await identity.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
            assert refreshed.status_code == 401
            assert refreshed.json()["error"]["code"] == "refresh_revoked"
            again = await identity.post("/api/v1/auth/login", json={"username": "chen.jing", "password": PASSWORD})
            assert again.status_code == 403 and again.json()["error"]["code"] == "account_disabled"
