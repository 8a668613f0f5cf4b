"""The shared SMS kit against a real Kannel (HTTP sendsms, delivery reports) and Kannel's SMPP SMSC driver."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.infra.kannel import DriveSmpp, KannelProcess
from hotline.infra.process import InfraError
from shared.auth import AuthSettings, Role
from shared.auth.tokens import issue_token
from shared.sms import SmppGateway, enqueue
from shared.sms.queue import FAILED, SmsState
from tests.conftest import cannot_start
from tests.integration.sms.harness import JWT_SECRET, KitSms, free_port, kannel_settings, sms_kit

pytestmark = pytest.mark.integration


def _center_token() -> str:
    return issue_token(
        AuthSettings(jwt_secret=JWT_SECRET),  # type: ignore[arg-type]
        subject="center-1",
        role=Role.CENTER_SUPERVISOR,
        branch="default",
        now=datetime.now(UTC),
        ttl=timedelta(minutes=5),
    )


async def _queue(kit_sessions: async_sessionmaker[AsyncSession], key: str, phone: str, text: str) -> None:
    async with kit_sessions() as session, session.begin():
        await enqueue(
            session, KitSms, key=key, branch="default", phone=phone, text=text, purpose="test", now=datetime.now(UTC)
        )


async def _row(kit_sessions: async_sessionmaker[AsyncSession], key: str) -> KitSms:
    async with kit_sessions() as session:
        row: KitSms = (await session.execute(select(KitSms).where(KitSms.message_key == key))).scalar_one()
        return row


async def _wait_state(kit_sessions: async_sessionmaker[AsyncSession], key: str, states: set[str]) -> KitSms:
    async with asyncio.timeout(10):
        while True:
            row = await _row(kit_sessions, key)
            if row.state in states:
                return row
            await asyncio.sleep(0.1)


async def test_a_queued_sms_reaches_the_fake_smsc_once_in_chinese_and_its_delivery_report_is_recorded(
    fresh_database_url: str, kannel: KannelProcess
) -> None:
    port = free_port()
    async with sms_kit(fresh_database_url, kannel_settings(kannel, port), port) as kit:
        before = len(kannel.received())
        text = "【燃气热线】您的报修已派单，工单 GX-1"
        await _queue(kit.sessions, "t:1", "+8613800001001", text)
        await _queue(kit.sessions, "t:1", "+8613800001001", text)  # the same key again: nothing more is sent
        kit.sender.notify()
        row = await _wait_state(kit.sessions, "t:1", {SmsState.DELIVERED.value})
        got = [m for m in kannel.received()[before:] if m.to == "+8613800001001"]
        assert [m.text for m in got] == [text]
        assert got[0].sender == "95007"
        assert row.report_status == 1 and row.delivered_at is not None and row.attempts == 1


async def test_a_refused_send_is_retried_then_failed_with_an_alert_listed_for_the_center_and_retryable(
    fresh_database_url: str, kannel: KannelProcess
) -> None:
    port = free_port()
    wrong = kannel_settings(kannel, port, kannel_url=f"http://127.0.0.1:{free_port()}")  # nothing listens there
    failed_before = FAILED.labels("kit", "test")._value.get()
    async with sms_kit(fresh_database_url, wrong, port, retry_delays=(0.2, 0.3)) as kit:
        await _queue(kit.sessions, "t:down", "13800001002", "燃气热线测试")
        kit.sender.notify()
        row = await _wait_state(kit.sessions, "t:down", {SmsState.FAILED.value})
        assert row.attempts == 3 and "unreachable" in (row.last_error or "")
        assert FAILED.labels("kit", "test")._value.get() == failed_before + 1
        headers = {"Authorization": f"Bearer {_center_token()}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            listed = (await client.get("/api/v1/sms/messages", params={"state": "failed"})).json()
            assert [m["message_key"] for m in listed] == ["t:down"]
            assert listed[0]["phone"] != "13800001002" and "****" in listed[0]["phone"]  # masked
            again = await client.post(f"/api/v1/sms/messages/{row.id}/retry")
            assert again.status_code == 200 and again.json()["state"] == "queued"
            conflict = await client.post(f"/api/v1/sms/messages/{row.id}/retry")
            assert conflict.status_code == 409
            forged = await client.get("/sms/dlr", params={"id": row.id, "sig": "0" * 32, "status": 1})
            assert forged.status_code == 403
            assert (await client.get("/api/v1/sms/messages", headers={"Authorization": "Bearer x"})).status_code == 401


async def test_the_smpp_adapter_submits_to_kannels_smpp_smsc_driver(tmp_path: Path) -> None:
    smsc = DriveSmpp(tmp_path, messages=1)
    try:
        smsc.start()
    except InfraError as error:
        cannot_start("Kannel's drive_smpp", error)
    try:
        gateway = SmppGateway("127.0.0.1", smsc.port, "foo", "bar")
        await gateway.send(1, "+8613800001003", "燃气报警", "95007")
        log = smsc.log.read_bytes()
        assert b"Handling SMPP PDU of type bind_transmitter" in log
        assert b"Handling SMPP PDU of type submit_sm" in log
        assert "燃气报警".encode("utf-16-be") in log  # the UCS-2 short_message as the SMSC got it
        assert b"ESME has submitted all messages" in log
    finally:
        smsc.stop()


async def test_an_smpp_smsc_that_is_down_is_a_transient_error(tmp_path: Path) -> None:
    from shared.sms import GatewayError

    gateway = SmppGateway("127.0.0.1", free_port(), "foo", "bar", timeout=2)
    with pytest.raises(GatewayError) as raised:
        await gateway.send(1, "+8613800001003", "x", "95007")
    assert raised.value.transient
