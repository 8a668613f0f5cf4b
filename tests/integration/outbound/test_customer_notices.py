"""Customer status notices through the real path: hotline.tickets, outbound, Kannel's fake SMSC, the history event."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from hotline.infra.kannel import KannelProcess, free_port
from services.outbound.bootstrap import OutboundService, build
from services.outbound.settings import OutboundSettings
from services.outbound.store import SmsMessage
from shared.auth import AuthSettings, Role
from shared.auth.tokens import issue_token
from shared.bus import make_producer
from shared.clock import FixedClock
from shared.events import (
    CallbackAbandoned,
    CustomerContacted,
    CustomerDetails,
    CustomerNotified,
    Event,
    ReplyApproved,
    TicketDispatched,
    TicketReceived,
    new_event,
)
from shared.policy.callbacks import FailureReason
from shared.policy.categories import Category
from shared.runtime import ServiceSettings
from shared.sms import SmsSettings
from tests.conftest import TopicFactory
from tests.integration.dispatch.harness import publish, read_until

pytestmark = pytest.mark.integration

SHANGHAI = ZoneInfo("Asia/Shanghai")
JWT_SECRET = "outbound-test-secret-0123456789abcdef0123"
DLR_SECRET = "outbound-dlr-secret"


def _event(payload: Any, ticket_id: str, at: datetime, producer: str = "dispatch") -> Event[Any]:
    return new_event(
        payload, ticket_id=ticket_id, branch="default", producer=producer, correlation_id="c-1", occurred_at=at
    )


def _received(
    ticket_id: str, number: str, phone: str, at: datetime, category: Category = Category.REPAIR
) -> Event[Any]:
    return _event(
        TicketReceived(
            ticket_number=number,
            channel="phone",
            category=category,
            received_at=at,
            description="燃气表漏气",
            customer=CustomerDetails(name="王小红", phone=phone, address="民族大道1号"),
        ),
        ticket_id,
        at,
        producer="intake",
    )


def _dispatched(ticket_id: str, at: datetime, category: Category = Category.REPAIR) -> Event[Any]:
    return _event(
        TicketDispatched(unit_id="UNIT-N1", division_id="DIV-NORTH", category=category, mode="automatic"), ticket_id, at
    )


def _life(ticket_id: str, number: str, phone: str, at: datetime) -> list[Event[Any]]:
    appointment = at + timedelta(hours=3)
    return [
        _received(ticket_id, number, phone, at),
        _dispatched(ticket_id, at),
        _event(
            CustomerContacted(
                unit_id="UNIT-N1", handler_id="h-1", contacted_at=at, method="phone", appointment_at=appointment
            ),
            ticket_id,
            at,
        ),
        _event(
            ReplyApproved(reply_id="r-1", unit_id="UNIT-N1", reviewer_id="sup-1", reply_received_at=at), ticket_id, at
        ),
        _event(
            CallbackAbandoned(
                callback_id="cb-1", attempts=3, last_outcome=FailureReason.NO_ANSWER, reason_text="3 attempts"
            ),
            ticket_id,
            at,
            producer="callback",
        ),
    ]


def _token(role: Role = Role.AGENT) -> str:
    return issue_token(
        AuthSettings(jwt_secret=JWT_SECRET),  # type: ignore[arg-type]
        subject="agent-1",
        role=role,
        branch="default",
        now=datetime.now(SHANGHAI),
        ttl=timedelta(minutes=10),
    )


@asynccontextmanager
async def _running(service: OutboundService, port: int) -> AsyncIterator[httpx.AsyncClient]:
    """The worker (consumer, relay, sender) and the API (Kannel's delivery reports, opt-outs) on `port`."""
    app = service.api_app(auth=AuthSettings(jwt_secret=JWT_SECRET))  # type: ignore[arg-type]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    producer = make_producer(service.settings.kafka_bootstrap, f"outbound-test-{uuid.uuid4().hex[:6]}")
    await producer.start()
    relay = service.relay(producer)
    consumer = service.consumer(producer, relay)
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(server.serve()),
        asyncio.create_task(consumer.run(stop)),
        asyncio.create_task(relay.run(stop)),
        asyncio.create_task(service.sender.run(stop)),
    ]
    try:
        await asyncio.wait_for(consumer.ready.wait(), 60)
        headers = {"Authorization": f"Bearer {_token()}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            yield client
    finally:
        stop.set()
        server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        await producer.stop()


async def _service(
    url: str, bootstrap: str, topic: str, tmp: Path, kannel: KannelProcess, port: int, now: datetime
) -> OutboundService:
    service = build(
        ServiceSettings(kafka_bootstrap=bootstrap, state_dir=tmp),
        OutboundSettings(topic_tickets=topic, consumer_group=f"outbound-test-{uuid.uuid4().hex[:8]}"),
        SmsSettings(
            kannel_url=kannel.sendsms_url,
            kannel_username=kannel.username,
            kannel_password=kannel.password,  # type: ignore[arg-type]
            dlr_url=f"http://127.0.0.1:{port}/sms/dlr",
            dlr_secret=DLR_SECRET,  # type: ignore[arg-type]
            poll_interval=0.2,
        ),
        clock=FixedClock(now),
        database_url=url,
    )
    await service.prepare()
    return service


async def test_a_customer_hears_of_each_step_of_their_ticket_once_and_an_opted_out_one_hears_nothing(
    fresh_database_url: str, kafka_bootstrap: str, new_topic: TopicFactory, tmp_path: Path, kannel: KannelProcess
) -> None:
    topic, port = await new_topic(partitions=3), free_port()
    now = datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)  # daytime: nothing waits for the quiet window
    service = await _service(fresh_database_url, kafka_bootstrap, topic, tmp_path, kannel, port, now)
    number, quiet_number = f"GX-20261201-{uuid.uuid4().int % 10**6:06d}", f"GX-20261201-{uuid.uuid4().int % 10**6:06d}"
    ticket, opted_out = str(uuid.uuid4()), str(uuid.uuid4())
    before = len(kannel.received())
    try:
        async with _running(service, port) as client:
            bad = await client.post("/api/v1/customers/opt-out", json={"phone": "0771-5550101"})
            assert bad.status_code == 422 and "not a mobile number" in bad.text
            done = await client.post("/api/v1/customers/opt-out", json={"phone": "13800002002"})
            assert done.status_code == 200 and done.json() == {"phone": "138****2002", "opted_out": True}
            events = _life(ticket, number, "13800002001", now)
            await publish(kafka_bootstrap, topic, [*events, *events[:2]])  # TicketReceived, TicketDispatched again
            await publish(kafka_bootstrap, topic, _life(opted_out, quiet_number, "13800002002", now))
            got = await read_until(
                kafka_bootstrap, topic, lambda g: sum(e.type == "CustomerNotified" for _, e in g) >= 4, linger=2.0
            )
            to_customer = [m for m in (await kannel.wait_for(before + 4, 60))[before:] if m.to == "+8613800002001"]
            await asyncio.sleep(1.0)
            templates = (
                await client.get("/api/v1/notices/templates", headers={"Authorization": f"Bearer {_token(Role.ADMIN)}"})
            ).json()
    finally:
        async with service.sessions() as session:
            rows = list((await session.execute(select(SmsMessage).order_by(SmsMessage.id))).scalars())
        await service.close()
    texts = [m.text for m in to_customer]
    assert len(texts) == 4, texts
    assert all(number in t for t in texts)
    assert (
        "已转至责任单位" in texts[0]
        and "12月01日 13:00" in texts[1]
        and "处理完毕" in texts[2]
        and "未能接通" in texts[3]
    )
    assert not any("王小红" in t or "民族大道" in t for t in texts)  # no personal data in a message
    assert not [m for m in kannel.received()[before:] if m.to == "+8613800002002"]  # opted out
    notified = [e for _, e in got if isinstance(e.payload, CustomerNotified)]
    assert [e.ticket_id for e in notified] == [ticket] * 4
    assert [e.payload.kind for e in notified] == ["dispatched", "appointment", "resolved", "callback_missed"]  # type: ignore[attr-defined]
    assert [r.state for r in rows] == ["delivered"] * 4
    assert templates["hotline"] == "95007" and "{ticket_number}" in templates["templates"]["default"]["dispatched"]


async def test_the_quiet_window_holds_a_notice_until_morning_but_not_an_alarms(
    fresh_database_url: str, kafka_bootstrap: str, new_topic: TopicFactory, tmp_path: Path, kannel: KannelProcess
) -> None:
    topic, port = await new_topic(partitions=1), free_port()
    night = datetime(2026, 12, 1, 22, 30, tzinfo=SHANGHAI)  # RULES.md §5: quiet 21:00-08:00
    service = await _service(fresh_database_url, kafka_bootstrap, topic, tmp_path, kannel, port, night)
    repair, alarm = str(uuid.uuid4()), str(uuid.uuid4())
    before = len(kannel.received())
    try:
        async with _running(service, port):
            await publish(
                kafka_bootstrap,
                topic,
                [
                    _received(repair, "GX-NIGHT-REPAIR", "13800002003", night),
                    _dispatched(repair, night),
                    _received(alarm, "GX-NIGHT-ALARM", "13800002004", night, Category.ALARM),
                    _dispatched(alarm, night, Category.ALARM),
                ],
            )
            arrived = [m for m in (await kannel.wait_for(before + 1, 60))[before:]]
            await asyncio.sleep(1.5)
            async with service.sessions() as session:
                rows = {r.ticket_id: r for r in (await session.execute(select(SmsMessage))).scalars()}
    finally:
        await service.close()
    assert [m.to for m in arrived] == ["+8613800002004"]  # the alarm's customer, at once
    held = rows[repair]
    assert held.state == "queued"
    assert held.not_before == datetime(2026, 12, 2, 8, 0, tzinfo=SHANGHAI)
