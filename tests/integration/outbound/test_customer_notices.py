"""Customer status notices through the real path: hotline.tickets, outbound, Kannel's fake SMSC, the history event."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from hotline.infra.kannel import KannelProcess, free_port
from services.outbound.store import SmsMessage
from shared.auth import Role
from shared.events import CustomerNotified
from shared.policy.categories import Category
from tests.conftest import TopicFactory
from tests.integration.dispatch.harness import publish, read_until
from tests.integration.outbound.harness import SHANGHAI, dispatched, life, make_service, received, running, token

pytestmark = pytest.mark.integration


async def test_a_customer_hears_of_each_step_of_their_ticket_once_and_an_opted_out_one_hears_nothing(
    fresh_database_url: str, kafka_bootstrap: str, new_topic: TopicFactory, tmp_path: Path, kannel: KannelProcess
) -> None:
    topic, port = await new_topic(partitions=3), free_port()
    now = datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)  # daytime: nothing waits for the quiet window
    service = await make_service(fresh_database_url, kafka_bootstrap, topic, tmp_path, kannel, port, now)
    number, quiet_number = f"GX-20261201-{uuid.uuid4().int % 10**6:06d}", f"GX-20261201-{uuid.uuid4().int % 10**6:06d}"
    ticket, opted_out = str(uuid.uuid4()), str(uuid.uuid4())
    before = len(kannel.received())
    try:
        async with running(service, port) as client:
            bad = await client.post("/api/v1/customers/opt-out", json={"phone": "0771-5550101"})
            assert bad.status_code == 422 and "not a mobile number" in bad.text
            done = await client.post("/api/v1/customers/opt-out", json={"phone": "13800002002"})
            assert done.status_code == 200 and done.json() == {"phone": "138****2002", "opted_out": True}
            events = life(ticket, number, "13800002001", now)
            await publish(kafka_bootstrap, topic, [*events, *events[:2]])  # TicketReceived, TicketDispatched again
            await publish(kafka_bootstrap, topic, life(opted_out, quiet_number, "13800002002", now))
            got = await read_until(
                kafka_bootstrap, topic, lambda g: sum(e.type == "CustomerNotified" for _, e in g) >= 4, linger=2.0
            )
            to_customer = [m for m in (await kannel.wait_for(before + 4, 60))[before:] if m.to == "+8613800002001"]
            await asyncio.sleep(1.0)
            templates = (
                await client.get("/api/v1/notices/templates", headers={"Authorization": f"Bearer {token(Role.ADMIN)}"})
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
    service = await make_service(fresh_database_url, kafka_bootstrap, topic, tmp_path, kannel, port, night)
    repair, alarm = str(uuid.uuid4()), str(uuid.uuid4())
    before = len(kannel.received())
    try:
        async with running(service, port):
            await publish(
                kafka_bootstrap,
                topic,
                [
                    received(repair, "GX-NIGHT-REPAIR", "13800002003", night),
                    dispatched(repair, night),
                    received(alarm, "GX-NIGHT-ALARM", "13800002004", night, Category.ALARM),
                    dispatched(alarm, night, Category.ALARM),
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
