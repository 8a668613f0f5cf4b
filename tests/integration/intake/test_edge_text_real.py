"""Issue 14 #3 on the real path: a NUL byte reached PostgreSQL (500, broken connection); now a 422 at the edge."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from services.intake.bootstrap import Intake
from services.intake.store import Ticket
from tests.unit.intake.conftest import AGENT, repair

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("where", ["description", "location"])
async def test_a_nul_byte_on_postgresql_is_a_422_and_the_next_request_is_served(
    client: httpx.AsyncClient, intake: Intake, where: str
) -> None:
    body = repair(description="漏气\u0000") if where == "description" else repair(location={"district": "青秀\u0000区"})
    refused = await client.post("/api/v1/tickets", json=body, headers=AGENT)
    assert refused.status_code == 422, refused.text
    by_path = await client.get("/api/v1/tickets/a%00b", headers=AGENT)
    assert by_path.status_code == 422
    created = await client.post("/api/v1/tickets", json=repair(), headers=AGENT)
    assert created.status_code == 201, created.text
    async with intake.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 1
