"""Urgent notices as SMS through a real Kannel: an alarm reaches a duty phone at the fake SMSC, once, over a kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import update

from hotline.infra.kannel import KannelProcess, free_port
from services.dispatch.bootstrap import DispatchService
from services.dispatch.store import OrgNode, SmsMessage
from shared.auth import AuthSettings
from shared.bus import make_producer
from shared.db import make_engine, make_sessions
from shared.policy.categories import Category
from shared.sms import SmsSettings
from tests.conftest import TopicFactory
from tests.integration.dispatch.harness import make_service, publish
from tests.integration.dispatch.test_worker_process import _start_worker
from tests.unit.dispatch.world import received

pytestmark = pytest.mark.integration

JWT_SECRET = "urgent-sms-test-secret-0123456789abcdef"
DLR_SECRET = "urgent-sms-dlr-secret"
DUTY = {"UNIT-N1": "13907710101", "UNIT-N2": "13907710102", "UNIT-S1": "13907710103"}


def _sms_settings(kannel: KannelProcess, api_port: int, **extra: object) -> SmsSettings:
    return SmsSettings(
        kannel_url=kannel.sendsms_url,
        kannel_username=kannel.username,
        kannel_password=kannel.password,  # type: ignore[arg-type]
        dlr_url=f"http://127.0.0.1:{api_port}/sms/dlr",
        dlr_secret=DLR_SECRET,  # type: ignore[arg-type]
        poll_interval=0.5,
        **extra,  # type: ignore[arg-type]
    )


async def _give_units_duty_mobiles(database_url: str) -> None:
    engine = make_engine(database_url)
    async with make_sessions(engine)() as session, session.begin():
        for unit, phone in DUTY.items():
            await session.execute(
                update(OrgNode).where(OrgNode.branch == "default", OrgNode.node_id == unit).values(duty_phone=phone)
            )
    await engine.dispose()


@asynccontextmanager
async def _serve_api(service: DispatchService, port: int) -> AsyncIterator[None]:
    """Dispatch's API (it takes Kannel's delivery reports) on a real port."""
    app = service.api_app(auth=AuthSettings(jwt_secret=JWT_SECRET))  # type: ignore[arg-type]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def _worker_with_sender(service: DispatchService) -> AsyncIterator[asyncio.Event]:
    producer = make_producer(service.settings.kafka_bootstrap, f"dispatch-sms-{uuid.uuid4().hex[:6]}")
    await producer.start()
    relay = service.relay(producer)
    consumer = service.consumer(producer, relay)
    assert service.sms_sender is not None
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(consumer.run(stop)),
        asyncio.create_task(relay.run(stop)),
        asyncio.create_task(service.sms_sender.run(stop)),
    ]
    try:
        await asyncio.wait_for(consumer.ready.wait(), 60)
        yield stop
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await producer.stop()


def _alarm(number: str) -> object:
    event = received(Category.ALARM, district="North-1")
    payload = event.payload.model_copy(update={"ticket_number": number})
    return event.model_copy(update={"payload": payload})


async def test_an_alarms_urgent_notice_reaches_the_units_duty_phone_at_the_fake_smsc(
    fresh_database_url: str,
    kafka_bootstrap: str,
    new_topic: TopicFactory,
    tmp_path: Path,
    kannel: KannelProcess,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOTLINE_DISPATCH_NOTIFIER", "sms")
    tickets, notices = await new_topic(partitions=3), await new_topic(partitions=1)
    api_port = free_port()
    service = await make_service(
        fresh_database_url,
        kafka_bootstrap,
        tickets,
        notices,
        tmp_path,
        sms=_sms_settings(kannel, api_port),
    )
    await _give_units_duty_mobiles(fresh_database_url)
    delays: list[float] = []
    try:
        async with _serve_api(service, api_port), _worker_with_sender(service):
            for i in range(8):
                number = f"GX-ALARM-{uuid.uuid4().hex[:6]}-{i}"
                before = len(kannel.received())
                started = time.time()
                await publish(kafka_bootstrap, tickets, [_alarm(number)])  # type: ignore[list-item]
                got: list[object] = []
                async with asyncio.timeout(20):
                    while not got:
                        got = [m for m in kannel.received()[before:] if number in m.text]
                        await asyncio.sleep(0.01)
                sms = got[0]
                assert sms.to == "+8613907710101"  # type: ignore[attr-defined]
                assert "燃气报警" in sms.text and "民族大道100号" in sms.text  # type: ignore[attr-defined]
                delays.append(sms.at - started)  # type: ignore[attr-defined]
            await asyncio.sleep(1.0)  # the delivery reports come back to dispatch's API
            async with service.sessions() as session:
                from sqlalchemy import select

                rows = list((await session.execute(select(SmsMessage))).scalars())
            assert len(rows) == 8 and {r.state for r in rows} == {"delivered"}
    finally:
        await service.close()
    load = os.getloadavg()[0]
    print(  # noqa: T201
        f"alarm -> fake SMSC: p50 {statistics.median(delays):.3f} s, max {max(delays):.3f} s "
        f"over {len(delays)} (load average {load:.2f})"
    )


ALARMS = 40


async def test_each_urgent_sms_goes_out_once_across_a_kill_9_of_the_sender(
    fresh_database_url: str,
    kafka_bootstrap: str,
    new_topic: TopicFactory,
    tmp_path: Path,
    kannel: KannelProcess,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOTLINE_DISPATCH_NOTIFIER", "sms")  # the test's own dispatch API mounts the DLR route
    tickets, notices = await new_topic(partitions=3), await new_topic(partitions=1)
    api_port = free_port()
    settings = _sms_settings(kannel, api_port)
    service = await make_service(fresh_database_url, kafka_bootstrap, tickets, notices, tmp_path, sms=settings)
    await _give_units_duty_mobiles(fresh_database_url)
    env = {
        **os.environ,
        "HOTLINE_DISPATCH_DATABASE_URL": fresh_database_url,
        "HOTLINE_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "HOTLINE_STATE_DIR": str(tmp_path),
        "HOTLINE_WORKER_PORT": str(free_port()),
        "HOTLINE_JWT_SECRET": JWT_SECRET,
        "HOTLINE_DISPATCH_CONSUMER_GROUP": service.dispatch.consumer_group,
        "HOTLINE_DISPATCH_TOPIC_TICKETS": tickets,
        "HOTLINE_DISPATCH_TOPIC_NOTIFICATIONS": notices,
        "HOTLINE_DISPATCH_NOTIFIER": "sms",
        "HOTLINE_SMS_KANNEL_URL": kannel.sendsms_url,
        "HOTLINE_SMS_KANNEL_USERNAME": kannel.username,
        "HOTLINE_SMS_KANNEL_PASSWORD": kannel.password,
        "HOTLINE_SMS_DLR_URL": f"http://127.0.0.1:{api_port}/sms/dlr",
        "HOTLINE_SMS_DLR_SECRET": DLR_SECRET,
        "HOTLINE_SMS_CLAIM_TIMEOUT": "3",
        "HOTLINE_LOG_LEVEL": "WARNING",
    }
    prefix = f"GX-K9-{uuid.uuid4().hex[:6]}"
    numbers = [f"{prefix}-{i:03d}" for i in range(ALARMS)]
    before = len(kannel.received())

    def arrived() -> list[str]:
        return [n for m in kannel.received()[before:] for n in numbers if n + ":" in m.text]

    log = tmp_path / "worker.log"
    try:
        async with _serve_api(service, api_port):  # Kannel's delivery reports land here, as in production
            await publish(kafka_bootstrap, tickets, [_alarm(n) for n in numbers])  # type: ignore[misc]
            first = _start_worker(env, log)
            try:
                async with asyncio.timeout(90):
                    while len(arrived()) < 5:
                        assert first.poll() is None, log.read_text()[-3000:]
                        await asyncio.sleep(0.005)
            finally:
                os.killpg(first.pid, signal.SIGKILL)  # mid-stream: no clean shutdown
                first.wait()
            at_kill = len(arrived())
            second = _start_worker(env, log)
            try:
                async with asyncio.timeout(90):
                    while len(set(arrived())) < ALARMS:
                        assert second.poll() is None, log.read_text()[-3000:]
                        await asyncio.sleep(0.1)
                await asyncio.sleep(float(env["HOTLINE_SMS_CLAIM_TIMEOUT"]) + 2)  # time for any resend to show
            finally:
                second.send_signal(signal.SIGTERM)
                second.wait(timeout=60)
    finally:
        await service.close()
    counts = Counter(arrived())
    assert set(counts) == set(numbers)
    assert {n: c for n, c in counts.items() if c != 1} == {}
    print(f"SMS at the fake SMSC when the sender was killed: {at_kill} of {ALARMS}")  # noqa: T201
