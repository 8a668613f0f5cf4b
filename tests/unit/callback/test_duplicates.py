"""Issue 14 #14: the same TicketReceived / TicketDispatched / approval delivered again changes the callback once."""

from __future__ import annotations

from sqlalchemy import func, select

from services.callback.store import CallbackTask
from tests.unit.callback.world import World, at


async def test_callback_drops_a_duplicate_of_each_ticket_event(world: World) -> None:
    ticket = await world.ticket(at("2026-11-25 09:30"), approve=False)
    received_and_dispatched = list(world.fed)
    assert [e.type for e in received_and_dispatched] == ["TicketReceived", "TicketDispatched"]
    emitted = await world.emitted(ticket)
    approval = await world.feed(*_approval(), ticket_id=ticket)
    first = await world.emitted(ticket)
    # the very same events (same event_id) again: after a producer or consumer was killed
    await world.handler(received_and_dispatched)
    await world.handler(approval)
    await world.handler([*received_and_dispatched, *approval, *approval])
    assert await world.emitted(ticket) == first and len(first) > len(emitted)
    async with world.service.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(CallbackTask)) == 1
    assert len(await world.due()) == 1


def _approval() -> tuple[object, ...]:
    from shared.events import ReplyApproved, TicketReplied

    return (
        TicketReplied(reply_id="R1", unit_id="U1", handler_id="h1", result="表已更换，燃气恢复"),
        ReplyApproved(reply_id="R1", unit_id="U1", reviewer_id="sup-1", reply_received_at=at("2026-11-25 09:30")),
    )
