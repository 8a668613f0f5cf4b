"""The agents' ticket search by number, address, customer and channel (what the console's search and pop ask)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.unit.intake.conftest import AGENT, repair


async def _search(client: httpx.AsyncClient, **params: str) -> list[str]:
    response = await client.get("/api/v1/tickets", params=params, headers=AGENT)
    assert response.status_code == 200, response.text
    return [t["ticket_number"] for t in response.json()["tickets"]]


async def _create(client: httpx.AsyncClient, body: dict[str, Any]) -> str:
    response = await client.post("/api/v1/tickets", json=body, headers=AGENT)
    assert response.status_code == 201, response.text
    return str(response.json()["ticket_number"])


async def test_search_by_number_address_part_and_channel(client: httpx.AsyncClient) -> None:
    first = await _create(client, repair(customer={"phone": "13800138000", "address": "南宁市青秀区民族大道100号"}))
    second = await _create(
        client, repair(channel="web", customer={"phone": "13800138001", "address": "南宁市兴宁区朝阳路25号"})
    )
    assert await _search(client, number=first) == [first]
    assert await _search(client, address="民族大道") == [first]
    assert await _search(client, address="朝阳路25号", category="repair") == [second]
    assert await _search(client, address="100%") == []  # a wildcard is a character, not a pattern
    assert await _search(client, channel="web") == [second]
    assert await _search(client, number="NO-SUCH-NUMBER") == []
