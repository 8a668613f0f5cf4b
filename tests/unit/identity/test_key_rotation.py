"""Signing-key roll-over without downtime: two keys published, the new one signs later, the old one leaves last."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt

from services.identity.bootstrap import build, migrate
from services.identity.keys import rotate_keys
from services.identity.settings import IdentitySettings
from services.identity.worker import Housekeeper
from shared.clock import FixedClock
from shared.runtime import ServiceSettings
from tests.unit.identity.conftest import FAST


async def test_a_roll_over_publishes_two_keys_and_tokens_of_both_stay_verifiable(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}"
    await asyncio.to_thread(migrate, url)
    clock = FixedClock(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    ids = IdentitySettings(**FAST, key_rotation_days=30, key_publish_ahead_seconds=300)  # type: ignore[arg-type]
    service = build(ServiceSettings(state_dir=tmp_path), ids, database_url=url, clock=clock)
    ring, keeper = service.identity.keys, Housekeeper(service.sessions, ids, clock)
    try:
        await keeper.tick()
        await ring.refresh(clock.now())
        old_token = ring.sign({"sub": "a"}, clock.now())
        old_kid = jwt.get_unverified_header(old_token)["kid"]

        clock.advance(timedelta(days=30))
        await keeper.tick()  # the worker starts the roll-over: the new key is published, not yet signing
        await ring.refresh(clock.now())
        published = [k["kid"] for k in (await ring.jwks(clock.now()))["keys"]]
        assert len(published) == 2 and old_kid in published
        assert jwt.get_unverified_header(ring.sign({"sub": "b"}, clock.now()))["kid"] == old_kid

        clock.advance(timedelta(seconds=301))  # the services' caches have had time to see the new key
        await ring.refresh(clock.now())
        new_kid = jwt.get_unverified_header(ring.sign({"sub": "c"}, clock.now()))["kid"]
        assert new_kid != old_kid
        assert {k["kid"] for k in (await ring.jwks(clock.now()))["keys"]} == {old_kid, new_kid}

        clock.advance(ids.access_ttl + timedelta(minutes=2))  # every token of the old key has expired
        await keeper.tick()
        await ring.refresh(clock.now())
        assert [k["kid"] for k in (await ring.jwks(clock.now()))["keys"]] == [new_kid]
    finally:
        await service.close()


async def test_a_second_roll_over_during_one_keeps_the_key_that_signs(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}"
    await asyncio.to_thread(migrate, url)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    service = build(ServiceSettings(state_dir=tmp_path), IdentitySettings(**FAST), database_url=url)  # type: ignore[arg-type]
    try:
        async with service.sessions() as session, session.begin():
            first = await rotate_keys(session, now, publish_ahead=timedelta(0), token_lifetime=timedelta(minutes=10))
            second = await rotate_keys(
                session,
                now + timedelta(seconds=1),
                publish_ahead=timedelta(minutes=5),
                token_lifetime=timedelta(minutes=10),
            )
        assert first.retired_at == second.activates_at
        assert first.expires_at == second.activates_at + timedelta(minutes=11)
    finally:
        await service.close()
