"""Drive the APIs and assert no phone, ID number or name shows unmasked in any log record."""

from __future__ import annotations

import logging
from collections.abc import Iterator, MutableMapping
from typing import Any

import httpx
import pytest
import structlog

from shared.auth import Role
from shared.privacy import PersonalDataLogFilter, log_processors
from tests.unit.auth.demo import CALLER, bearer, token

pytestmark = pytest.mark.unit

SECRETS = [
    CALLER["caller_phone"],
    CALLER["id_number"],
    CALLER["id_number"].lower(),
    CALLER["caller_name"],
    "13900000000",
    "民族大道",
]


@pytest.fixture
def captured() -> Iterator[list[str]]:
    records: list[str] = []

    def capture(logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        records.append(repr(dict(event_dict)))
        raise structlog.DropEvent

    structlog.configure(processors=[*log_processors(), capture], cache_logger_on_first_use=False)
    yield records
    structlog.reset_defaults()


async def test_no_personal_data_in_any_log_record(
    app: Any,
    client: httpx.AsyncClient,
    captured: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.handler.addFilter(PersonalDataLogFilter())
    caplog.set_level(logging.DEBUG)
    owner = bearer(token(Role.AGENT, subject="agent-1"))
    answers = {
        "name": CALLER["caller_name"],
        "id_number": CALLER["id_number"].lower(),
        "address": "南宁市青秀区民族大道100号",
        "phone": "13900000000",
    }
    await client.get("/api/v1/tickets/T1", headers=owner)
    await client.post(
        "/api/v1/tickets/T1/reveal",
        json={"field": "phone", "reason": f"caller asked, call {CALLER['caller_phone']}"},
        headers=owner,
    )
    for _ in range(4):
        await client.post("/api/v1/customers/C1/verify", json=answers, headers=owner)
    await client.post(
        "/api/v1/calls",
        json={"call_id": "c1", "caller_number": CALLER["caller_phone"]},
        headers=bearer(token(Role.INTEGRATION)),
    )
    logging.getLogger("library").warning("raw line from %s", CALLER["caller_phone"])
    try:
        raise RuntimeError(f"boom for {CALLER['id_number']}")
    except RuntimeError:
        structlog.get_logger("test").exception("handler failed")
        logging.getLogger("library").exception("handler failed")

    assert len(captured) >= 10
    lines = captured + [caplog.handler.format(r) for r in caplog.records]
    leaks = [(secret, line) for line in lines for secret in SECRETS if secret in line]
    assert not leaks, leaks
    # and what is logged is still useful: masked, not dropped
    assert any("138****5678" in line for line in captured)
    assert any("张*明" in line for line in captured)
