"""Why a simulation saw callback claims answer 404 for callbacks that exist (issue 13, item 8).

The queue's answers go through the masking safety net (RULES.md §6). Before issue 14's masker, a free-text
phone pattern also matched inside identifiers: about one UUID in 1,750 has a run of digits that reads as a
phone number, e.g. `6654c125-6ebe-5819-b062-12314841f938` came out as `...-b0621-****841f938`. The agent then
claimed the masked id, got a 404, and the simulation's agents asked again on every look at the queue: a few
such callbacks made over a thousand 404s. These ids are the ones the old masker broke: each must come back
from the queue exactly and be claimable.
"""

from __future__ import annotations

import uuid

import pytest

from shared.privacy import mask_data
from tests.unit.callback.world import World, at

pytestmark = pytest.mark.unit

# ticket ids whose callback id (uuid5 of ticket and reply) the old pattern masker altered
BROKEN_BEFORE = {
    "ticket-1758": "6654c125-6ebe-5819-b062-12314841f938",
    "ticket-5942": "9029cf6e-e42f-502e-a063-3344277d7868",
    "ticket-6930": "616f12e9-daf1-50bd-b033-42162494d4e0",
}


async def test_a_callback_whose_id_looks_like_a_phone_number_is_listed_and_claimed_by_its_own_id(world: World) -> None:
    for ticket_id, callback_id in BROKEN_BEFORE.items():
        await world.ticket(at("2026-11-25 09:30"), ticket_id=ticket_id)
        assert (await world.callback_of(ticket_id))["callback_id"] == callback_id
    listed = {item["ticket_id"]: item["callback_id"] for item in await world.due()}
    assert listed == BROKEN_BEFORE
    for callback_id in BROKEN_BEFORE.values():
        claimed = await world.claim(callback_id)
        assert claimed.status_code == 200, claimed.text
        assert claimed.json()["callback_id"] == callback_id


def test_no_uuid_is_taken_for_a_phone_number() -> None:
    for _ in range(20_000):
        value = str(uuid.uuid4())
        assert mask_data({"callback_id": value, "ticket_id": value, "note": value}) == {
            "callback_id": value,
            "ticket_id": value,
            "note": value,
        }
