"""Issue 14 #1: a name or address containing `*` came back in full from dispatch's ticket view."""

from __future__ import annotations

from shared.events import CustomerDetails
from tests.unit.dispatch.world import CENTER, World, received


async def test_a_value_containing_a_star_is_not_taken_for_masked(world: World) -> None:
    event = received()
    customer = CustomerDetails(name="*司马泄露", phone="13812345678", address="*民族大道100号3栋501")
    event = event.model_copy(update={"payload": event.payload.model_copy(update={"customer": customer})})
    await world.feed(event)
    response = await world.client.get(f"/api/v1/tickets/{event.ticket_id}", headers=CENTER)
    assert response.status_code == 200, response.text
    assert "司马泄" not in response.text
    assert "民族大道100号" not in response.text
    assert "13812345678" not in response.text
