"""SMS over SMPP end to end (issue 21): our Kannel adapter -> smsbox -> bearerbox, bound over SMPP (transceiver) to
a real SMSC (the smpp34 library's server) -> the text arrives there; the SMSC's delivery receipt (deliver_sm)
comes back through Kannel to our signed delivery-report endpoint and marks the message delivered."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from hotline.infra.kannel import KannelProcess
from hotline.infra.process import InfraError
from shared.sms import enqueue
from shared.sms.queue import DLR_DELIVERED, SmsState
from tests.conftest import cannot_start
from tests.integration.sms.harness import KitSms, free_port, kannel_settings, sms_kit
from tests.integration.sms.smsc import SmppSmsc

pytestmark = pytest.mark.integration


async def test_an_sms_sent_through_kannel_over_smpp_reaches_the_smsc_and_its_receipt_marks_it_delivered(
    fresh_database_url: str, tmp_path: Path
) -> None:
    smsc_port = free_port()
    # bearerbox binds (transceiver) to the SMSC, which runs in the test's own loop
    kannel = KannelProcess(tmp_path / "kannel-smpp", smpp_port=smsc_port)
    text = "【燃气热线】您的故障报修工单GX-20261201-000123已派至维修单位。"
    async with SmppSmsc(port=smsc_port) as smsc:
        try:
            await asyncio.to_thread(kannel.start)
        except InfraError as error:
            kannel.stop()
            cannot_start("Kannel over SMPP", error)
            raise
        try:
            assert smsc.binds == ["hotline"]  # Kannel bound as the configured ESME
            dlr_port = free_port()
            async with sms_kit(fresh_database_url, kannel_settings(kannel, dlr_port), dlr_port) as kit:
                async with kit.sessions() as session, session.begin():
                    await enqueue(
                        session,
                        KitSms,
                        key="smpp-e2e-1",
                        branch="default",
                        phone="+8613800004001",
                        text=text,
                        purpose="test",
                        now=datetime.now(UTC),
                    )
                kit.sender.notify()
                arrived = await smsc.wait_for(1, 30)
                async with asyncio.timeout(30):
                    while True:
                        async with kit.sessions() as session:
                            row = (await session.execute(select(KitSms))).scalar_one()
                        if row.state == SmsState.DELIVERED.value:
                            break
                        await asyncio.sleep(0.1)
        finally:
            kannel.stop()
    assert [(m.destination.lstrip("+"), m.text) for m in arrived] == [("8613800004001", text)]
    assert arrived[0].registered_delivery & 0x01  # Kannel asked the SMSC for a receipt
    assert smsc.receipts == [arrived[0].message_id]  # Kannel took the SMSC's receipt
    assert row.report_status is not None and row.report_status & DLR_DELIVERED
    assert row.delivered_at is not None and row.gateway == "kannel"
