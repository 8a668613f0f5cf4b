"""The outbound service against the real broker and server: ticket events, a running worker and API on a real port."""

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
import uvicorn

from hotline.infra.kannel import KannelProcess
from services.outbound.bootstrap import OutboundService, build
from services.outbound.settings import OutboundSettings
from shared.auth import AuthSettings, Role
from shared.auth.tokens import issue_token
from shared.bus import make_producer
from shared.clock import FixedClock
from shared.events import (
    CallbackAbandoned,
    CustomerContacted,
    CustomerDetails,
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

SHANGHAI = ZoneInfo("Asia/Shanghai")
JWT_SECRET = "outbound-test-secret-0123456789abcdef0123"
DLR_SECRET = "outbound-dlr-secret"


def event(payload: Any, ticket_id: str, at: datetime, producer: str = "dispatch") -> Event[Any]:
    return new_event(
        payload, ticket_id=ticket_id, branch="default", producer=producer, correlation_id="c-1", occurred_at=at
    )


def received(ticket_id: str, number: str, phone: str, at: datetime, category: Category = Category.REPAIR) -> Event[Any]:
    return event(
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


def dispatched(ticket_id: str, at: datetime, category: Category = Category.REPAIR) -> Event[Any]:
    return event(
        TicketDispatched(unit_id="UNIT-N1", division_id="DIV-NORTH", category=category, mode="automatic"), ticket_id, at
    )


def life(ticket_id: str, number: str, phone: str, at: datetime) -> list[Event[Any]]:
    appointment = at + timedelta(hours=3)
    return [
        received(ticket_id, number, phone, at),
        dispatched(ticket_id, at),
        event(
            CustomerContacted(
                unit_id="UNIT-N1", handler_id="h-1", contacted_at=at, method="phone", appointment_at=appointment
            ),
            ticket_id,
            at,
        ),
        event(
            ReplyApproved(reply_id="r-1", unit_id="UNIT-N1", reviewer_id="sup-1", reply_received_at=at), ticket_id, at
        ),
        event(
            CallbackAbandoned(
                callback_id="cb-1", attempts=3, last_outcome=FailureReason.NO_ANSWER, reason_text="3 attempts"
            ),
            ticket_id,
            at,
            producer="callback",
        ),
    ]


def token(role: Role = Role.AGENT) -> str:
    return issue_token(
        AuthSettings(jwt_secret=JWT_SECRET),  # type: ignore[arg-type]
        subject="agent-1",
        role=role,
        branch="default",
        now=datetime.now(SHANGHAI),
        ttl=timedelta(minutes=10),
    )


@asynccontextmanager
async def running(service: OutboundService, port: int) -> AsyncIterator[httpx.AsyncClient]:
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
        asyncio.create_task(service.webhooks.run(stop)),
    ]
    try:
        await asyncio.wait_for(consumer.ready.wait(), 60)
        headers = {"Authorization": f"Bearer {token()}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            yield client
    finally:
        stop.set()
        server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        await producer.stop()


async def make_service(
    url: str,
    bootstrap: str,
    topic: str,
    tmp: Path,
    kannel: KannelProcess | None,
    port: int,
    now: datetime | None,
    **outbound: Any,
) -> OutboundService:
    """`now` fixes the clock (None: the real one); `kannel` None leaves SMS unconfigured."""
    service = build(
        ServiceSettings(kafka_bootstrap=bootstrap, state_dir=tmp),
        OutboundSettings(topic_tickets=topic, consumer_group=f"outbound-test-{uuid.uuid4().hex[:8]}", **outbound),
        SmsSettings(
            kannel_url=kannel.sendsms_url,
            kannel_username=kannel.username,
            kannel_password=kannel.password,  # type: ignore[arg-type]
            dlr_url=f"http://127.0.0.1:{port}/sms/dlr",
            dlr_secret=DLR_SECRET,  # type: ignore[arg-type]
            poll_interval=0.2,
        )
        if kannel
        else SmsSettings(),
        clock=FixedClock(now) if now else None,
        database_url=url,
    )
    await service.prepare()
    return service
