"""Issue 14 #10: rate limits per client address (bad credentials) and per credential (reveal, identity, writes)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from services.intake.bootstrap import Intake
from shared.auth import Role
from shared.http.ratelimit import Rate, RateLimiter, RateLimitSettings
from tests.unit.intake.conftest import AGENT, auth, repair, token
from tests.unit.intake.test_customers import load


@pytest.fixture
async def limited(intake: Intake, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    # the branch's own, stricter limits (per-branch configuration)
    strict = {"demo": {"reveal": "3/minute", "identity_check": "2/minute", "write": "5/minute"}}
    monkeypatch.setenv("HOTLINE_RATE_LIMIT_BRANCHES", json.dumps(strict))
    transport = httpx.ASGITransport(app=intake.api(auth=auth()), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        yield client


def _throttled(response: httpx.Response) -> bool:
    return (
        response.status_code == 429
        and int(response.headers["Retry-After"]) >= 1
        and response.json()["error"]["code"] == "too_many_requests"
    )


async def test_bad_tokens_from_one_address_are_slowed_down(client: httpx.AsyncClient, intake: Intake) -> None:
    answers = [
        (await client.get("/api/v1/tickets", headers={"Authorization": f"Bearer forged-{n}"})) for n in range(40)
    ]
    assert [a.status_code for a in answers[:20]] == [401] * 20
    assert all(_throttled(a) for a in answers[20:])
    # the address is refused even with a good token until its bucket refills
    assert _throttled(await client.get("/api/v1/tickets", headers=AGENT))


async def test_reveals_writes_and_identity_checks_are_limited_per_credential(
    limited: httpx.AsyncClient, intake: Intake
) -> None:
    writes = [await limited.post("/api/v1/tickets", json=repair(), headers=AGENT) for _ in range(6)]
    assert [w.status_code for w in writes[:5]] == [201] * 5 and _throttled(writes[5])
    ticket_id = writes[0].json()["ticket_id"]
    # the same agent with another token: another credential, with buckets of its own
    again = token(Role.AGENT, subject="agent-7")
    reveal = {"field": "phone", "reason": "回电确认地址"}
    reveals = [await limited.post(f"/api/v1/tickets/{ticket_id}/reveal", json=reveal, headers=again) for _ in range(4)]
    assert [r.status_code for r in reveals[:3]] == [200] * 3, reveals[0].text
    assert _throttled(reveals[3])
    checker = token(Role.AGENT, subject="agent-8")
    await load(intake)
    checks = [
        await limited.post("/api/v1/customers/nobody/account-query", json={"name": "x"}, headers=checker)
        for _ in range(3)
    ]
    assert [c.status_code for c in checks[:2]] == [404, 404] and _throttled(checks[2])


def test_a_bucket_refills_at_its_rate_and_bad_settings_are_refused() -> None:
    now = [0.0]
    limiter = RateLimiter(RateLimitSettings(defaults={"reveal": "2/minute"}), clock=lambda: now[0])
    assert limiter.hit("reveal", "k") is None and limiter.hit("reveal", "k") is None
    wait = limiter.hit("reveal", "k")
    assert wait is not None and 29 < wait <= 30
    now[0] += 30
    assert limiter.hit("reveal", "k") is None
    assert Rate.parse("5/second") == Rate(5, 1.0)
    with pytest.raises(ValueError, match="invalid rate 'lots'"):
        RateLimitSettings(branches={"demo": {"reveal": "lots"}})
    with pytest.raises(ValueError, match="unknown rate-limit category 'teleport'"):
        RateLimitSettings(defaults={"teleport": "1/minute"})
