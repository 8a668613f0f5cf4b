"""Real Kafka and PostgreSQL: one TicketReceived whatever the publisher's crash, CTI links, the view follows."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from sqlalchemy import func, select

from services.intake.bootstrap import Intake
from services.intake.settings import TopicNames
from services.intake.store import Outbox, ProcessedEvent, TicketHistory
from shared.auth import Role
from shared.events import (
    CallAnswered,
    CallbackAttempted,
    CallbackCompleted,
    CallbackScheduled,
    CallEnded,
    CallOffered,
    Event,
    Payload,
    ReplyApproved,
    SlaBreached,
    SlaEscalated,
    TicketClosed,
    TicketDispatched,
    TicketReplied,
    Topic,
    decode,
    encode,
    new_event,
)
from shared.outbox import OutboxRelay, RenamingSender
from shared.policy.categories import Category
from shared.policy.limits import CallbackKind, SlaClock
from tests.integration.intake.conftest import eventually
from tests.unit.intake.conftest import AGENT, repair, token


async def read_topic(bootstrap: str, topic: str, at_least: int, linger: float = 1.0) -> list[Any]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    got: list[Any] = []
    try:
        async with asyncio.timeout(30):
            while len(got) < at_least:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    got.extend(batch)
        for batch in (await consumer.getmany(timeout_ms=int(linger * 1000))).values():
            got.extend(batch)
    finally:
        await consumer.stop()
    return got


class KilledAfterSend(OutboxRelay):
    """A publisher killed after Kafka acknowledged the batch, before the rows were marked sent."""

    async def relay_once(self) -> int:
        original = self._producer.send

        async def send_then_die(topic: str, value: bytes | None = None, key: bytes | None = None) -> Any:
            await (await original(topic, value=value, key=key))
            raise SystemExit("publisher killed")

        self._producer.send = send_then_die  # type: ignore[method-assign]
        try:
            return await super().relay_once()
        finally:
            self._producer.send = original  # type: ignore[method-assign]


async def test_exactly_one_ticket_received_whatever_the_publisher_crash(
    intake: Intake, client: httpx.AsyncClient, topics: TopicNames, kafka_bootstrap: str
) -> None:
    assert intake.relay is not None and intake.producer is not None and intake.consumer is not None
    # the publisher is down when the ticket commits: the event waits in the outbox
    response = await client.post("/api/v1/tickets", json=repair(), headers=AGENT)
    assert response.status_code == 201, response.text
    ticket_id = response.json()["ticket_id"]
    assert await intake.relay.pending() == 1
    # the restarted publisher is killed again, after sending and before marking the row sent
    sender = RenamingSender(intake.producer, intake.topics)
    dying = KilledAfterSend("intake", intake.sessions, Outbox, sender, intake.clock)
    try:
        await dying.relay_once()
    except SystemExit:
        pass
    assert await intake.relay.pending() == 1
    assert await intake.relay.relay_once() == 1
    assert await intake.relay.pending() == 0
    records = await read_topic(kafka_bootstrap, topics(Topic.TICKETS), at_least=2)
    events = [decode(r.value) for r in records]
    assert {e.type for e in events} == {"TicketReceived"}
    assert len({e.event_id for e in events}) == 1, "one event, even if the broker got it twice"
    assert all(r.key == ticket_id.encode() for r in records)
    # consumers act on it once: intake's own view records one history entry
    stop = asyncio.Event()
    task = asyncio.create_task(intake.consumer.run(stop))

    async def consumed() -> int:
        async with intake.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(ProcessedEvent)) or 0)

    await eventually(consumed)
    await asyncio.sleep(1.0)
    stop.set()
    await task
    async with intake.sessions() as session:
        entries = await session.scalar(
            select(func.count()).select_from(TicketHistory).where(TicketHistory.ticket_id == ticket_id)
        )
    assert entries == 1


async def publish(intake: Intake, events: list[Event[Any]]) -> None:
    assert intake.producer is not None
    for event in events:
        await intake.producer.send_and_wait(intake.topics(event.topic), encode(event), key=event.key.encode())


def event(payload: Payload, at: datetime, ticket_id: str | None = None, call_id: str | None = None) -> Event[Any]:
    return new_event(
        payload,
        ticket_id=ticket_id,
        call_id=call_id,
        branch="demo",
        producer="test",
        correlation_id=ticket_id or call_id or "test",
        occurred_at=at,
    )


async def test_cti_events_keep_the_call_record_and_link_it_to_its_ticket(
    intake: Intake, client: httpx.AsyncClient, consuming: None
) -> None:
    start = datetime.now(UTC)
    await publish(
        intake,
        [
            event(
                CallOffered(caller_number="+86 138 0013 8000", dialled_number="95588", queue="q1"),
                start,
                call_id="call-1",
            ),
            event(CallAnswered(agent_id="agent-7", queue="q1"), start + timedelta(seconds=8), call_id="call-1"),
            event(CallOffered(caller_number="13900139000", dialled_number="95588"), start, call_id="call-2"),
            event(CallEnded(answered=False, ended_by="caller"), start + timedelta(seconds=30), call_id="call-2"),
        ],
    )
    supervisor = token(Role.CENTER_SUPERVISOR)

    async def ringing_then_answered() -> Any:
        response = await client.get("/api/v1/calls/call-1", headers=AGENT)
        return response.status_code == 200 and response.json()["state"] == "answered" and response.json()

    call = await eventually(ringing_then_answered)
    assert call["caller_number"] == "138****8000" and call["agent_id"] == "agent-7"
    talked = (await client.get("/api/v1/calls/stats", headers=supervisor)).json()
    assert talked["in_progress"] == 1  # call-1 is being talked: the wallboard's "calls now"
    # the agent takes the ticket on the call; the screen pop shows it for the caller's next call
    body = repair(call_id="call-1")
    ticket_id = (await client.post("/api/v1/tickets", json=body, headers=AGENT)).json()["ticket_id"]
    await publish(
        intake,
        [
            event(
                CallEnded(answered=True, agent_id="agent-7", talk_seconds=95.0, recording_ref="rec/1.wav"),
                start + timedelta(seconds=103),
                call_id="call-1",
            )
        ],
    )

    async def ended() -> Any:
        response = (await client.get("/api/v1/calls/call-1", headers=AGENT)).json()
        return response["state"] == "ended" and response

    call = await eventually(ended)
    assert [t["ticket_id"] for t in call["tickets"]] == [ticket_id]
    assert call["talk_seconds"] == 95.0 and call["recording_ref"] == "rec/1.wav"
    pop = (await client.get("/api/v1/calls/call-1/screen-pop", headers=AGENT)).json()
    assert [t["ticket_id"] for t in pop["tickets"]] == [ticket_id] and pop["open_tickets"] == 1
    stats = (await client.get("/api/v1/calls/stats", headers=supervisor)).json()
    assert stats["answered"] == 1 and stats["abandoned"] == 1 and stats["average_handle_seconds"] == 95.0
    assert stats["in_progress"] == 0 and stats["ringing"] == 0


async def test_the_ticket_view_follows_events_from_the_other_services(
    intake: Intake, client: httpx.AsyncClient, consuming: None
) -> None:
    ticket_id = (await client.post("/api/v1/tickets", json=repair(), headers=AGENT)).json()["ticket_id"]
    t0 = datetime.now(UTC)
    dispatched = TicketDispatched(unit_id="U-1", division_id="D-1", category=Category.REPAIR, mode="automatic")
    lifecycle = [
        event(dispatched, t0 + timedelta(minutes=2), ticket_id),
        event(
            SlaBreached(
                clock=SlaClock.CONTACT,
                deadline=t0 + timedelta(hours=2),
                unit_id="U-1",
                division_id="D-1",
                category=Category.REPAIR,
                late_by_seconds=1.0,
            ),
            t0 + timedelta(hours=2, seconds=1),
            ticket_id,
        ),
        event(
            SlaEscalated(
                clock=SlaClock.CONTACT,
                deadline=t0 + timedelta(hours=2),
                to_level="division",
                to_org_id="D-1",
                unit_id="U-1",
                division_id="D-1",
                reason="breach",
                late_by_seconds=1.0,
            ),
            t0 + timedelta(hours=2, seconds=2),
            ticket_id,
        ),
        event(
            TicketReplied(reply_id="R-1", unit_id="U-1", handler_id="h-1", result="换了点火针"),
            t0 + timedelta(hours=5),
            ticket_id,
        ),
        event(
            ReplyApproved(reply_id="R-1", unit_id="U-1", reviewer_id="c-1", reply_received_at=t0 + timedelta(hours=5)),
            t0 + timedelta(hours=6),
            ticket_id,
        ),
        event(
            CallbackScheduled(
                callback_id="CB-1",
                kind=CallbackKind.SURVEY,
                due_at=t0 + timedelta(days=1),
                scheduled_for=t0 + timedelta(hours=7),
                attempt_number=1,
                reason="reply_received",
            ),
            t0 + timedelta(hours=6, minutes=1),
            ticket_id,
        ),
        event(
            CallbackAttempted(callback_id="CB-1", attempt_number=1, agent_id="a-2", outcome="reached"),
            t0 + timedelta(hours=7),
            ticket_id,
        ),
        event(
            CallbackCompleted(
                callback_id="CB-1",
                kind=CallbackKind.SURVEY,
                agent_id="a-2",
                unit_id="U-1",
                division_id="D-1",
                category=Category.REPAIR,
                problem_solved=True,
                satisfaction=5,
            ),
            t0 + timedelta(hours=7, minutes=5),
            ticket_id,
        ),
        event(TicketClosed(reason="callback_completed"), t0 + timedelta(hours=7, minutes=6), ticket_id),
    ]
    await publish(intake, lifecycle)

    async def closed() -> Any:
        view = (await client.get(f"/api/v1/tickets/{ticket_id}", headers=AGENT)).json()
        return view["status"] == "closed" and view

    view = await eventually(closed)
    assert view["unit_id"] == "U-1" and view["division_id"] == "D-1" and view["breached"] is True
    clocks = {c["clock"]: c for c in view["clocks"]}
    assert clocks["contact"]["state"] == "breached" and clocks["contact"]["breached"] is True
    assert clocks["resolve"]["state"] == "met"
    assert clocks["callback"]["state"] == "met"
    assert [e["to_level"] for e in view["escalations"]] == ["division"]
    assert view["callback"]["outcome"] == "completed" and view["callback"]["satisfaction"] == 5
    assert [a["outcome"] for a in view["callback"]["attempts"]] == ["reached"]
    assert [h["type"] for h in view["history"]] == ["TicketReceived"] + [e.type for e in lifecycle]
    breached = (await client.get("/api/v1/tickets?breached=true", headers=AGENT)).json()["tickets"]
    assert [t["ticket_id"] for t in breached] == [ticket_id]
    unit = token(Role.UNIT_HANDLER, unit="U-1")
    assert (await client.get(f"/api/v1/tickets/{ticket_id}", headers=unit)).status_code == 200
