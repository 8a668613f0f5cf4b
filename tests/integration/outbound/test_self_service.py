"""Customer self-service through the real path: a code by SMS through Kannel's fake SMSC, the customer's own tickets
from hotline.tickets, a rating back on the topic as ServiceRated (issue 21 part 3)."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from hotline.infra.kannel import KannelProcess, free_port
from services.outbound.store import SmsMessage
from shared.auth import Role
from shared.clock import FixedClock
from shared.events import ServiceRated, TicketClosed
from tests.conftest import TopicFactory
from tests.integration.dispatch.harness import publish, read_until
from tests.integration.outbound.harness import SHANGHAI, dispatched, event, make_service, received, running, token

pytestmark = pytest.mark.integration
CODE = re.compile(r"验证码是(\d{6})")


async def _code_for(kannel: KannelProcess, phone: str, before: int) -> str:
    for sms in reversed((await kannel.wait_for(before + 1, 30))[before:]):
        found = CODE.search(sms.text)
        if sms.to == phone and found:
            return found.group(1)
    raise AssertionError(f"no code reached {phone}: {[m.text for m in kannel.received()[before:]]}")


async def _ask(client: httpx.AsyncClient, phone: str) -> httpx.Response:
    return await client.post("/api/v1/self-service/codes", json={"branch": "default", "phone": phone})


async def test_a_customer_signs_in_with_the_code_sent_through_kannel_and_sees_only_their_own_tickets(
    fresh_database_url: str, kafka_bootstrap: str, new_topic: TopicFactory, tmp_path: Path, kannel: KannelProcess
) -> None:
    topic, port = await new_topic(partitions=3), free_port()
    now = datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)
    service = await make_service(fresh_database_url, kafka_bootstrap, topic, tmp_path, kannel, port, now)
    wall = FixedClock(datetime.now(SHANGHAI))
    service.self_service.wall = wall
    mine, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    mine_no, theirs_no = f"GX-20261201-{uuid.uuid4().int % 10**6:06d}", f"GX-20261201-{uuid.uuid4().int % 10**6:06d}"
    try:
        async with running(service, port) as client:
            client.headers.pop("Authorization")  # a customer has no staff token
            bad = await _ask(client, "0771-5550101")
            assert bad.status_code == 422
            assert bad.json()["error"]["fields"][0]["field"] == "phone"
            before = len(kannel.received())
            asked = await _ask(client, "13800003001")
            assert asked.status_code == 202, asked.text
            assert asked.json()["phone"] == "138****3001"
            code = await _code_for(kannel, "+8613800003001", before)
            again = await _ask(client, "13800003001")
            assert again.status_code == 429 and again.json()["error"]["code"] == "too_soon"
            assert 0 < int(again.headers["retry-after"]) <= 60

            challenge = asked.json()["challenge_id"]
            wrong = "000000" if code != "000000" else "111111"
            tried = await client.post("/api/v1/self-service/sessions", json={"challenge_id": challenge, "code": wrong})
            assert tried.status_code == 422 and tried.json()["error"]["fields"][0]["left"] == "4"
            signed = await client.post("/api/v1/self-service/sessions", json={"challenge_id": challenge, "code": code})
            assert signed.status_code == 201, signed.text
            again = await client.post("/api/v1/self-service/sessions", json={"challenge_id": challenge, "code": code})
            assert again.status_code == 410  # a code signs in once
            customer = {"X-Customer-Session": signed.json()["session_token"]}

            await publish(
                kafka_bootstrap,
                topic,
                [
                    received(mine, mine_no, "13800003001", now),
                    dispatched(mine, now + timedelta(minutes=2)),
                    received(theirs, theirs_no, "13800003999", now),
                ],
            )
            for _ in range(100):
                listed = (await client.get("/api/v1/self-service/tickets", headers=customer)).json()
                if listed and listed[0]["status"] == "dispatched":
                    break
                await asyncio.sleep(0.2)
            assert [t["ticket_number"] for t in listed] == [mine_no], listed
            other = await client.get(f"/api/v1/self-service/tickets/{theirs_no}", headers=customer)
            assert other.status_code == 404  # another customer's ticket is as unknown as a wrong number
            early = await client.post(
                f"/api/v1/self-service/tickets/{mine_no}/rating", json={"rating": 5}, headers=customer
            )
            assert early.status_code == 409 and early.json()["error"]["code"] == "not_finished"

            closed = TicketClosed(reason="callback_completed", closed_by="agent-1")
            await publish(kafka_bootstrap, topic, [event(closed, mine, now + timedelta(days=1), producer="callback")])
            for _ in range(100):
                detail = (await client.get(f"/api/v1/self-service/tickets/{mine_no}", headers=customer)).json()
                if detail["can_rate"]:
                    break
                await asyncio.sleep(0.2)
            assert [s["step"] for s in detail["steps"]] == ["received", "dispatched", "closed"]
            rated = await client.post(
                f"/api/v1/self-service/tickets/{mine_no}/rating",
                json={"rating": 4, "comment": "师傅很准时"},
                headers=customer,
            )
            assert rated.status_code == 201, rated.text
            twice = await client.post(
                f"/api/v1/self-service/tickets/{mine_no}/rating", json={"rating": 1}, headers=customer
            )
            assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_rated"
            got = await read_until(kafka_bootstrap, topic, lambda g: any(e.type == "ServiceRated" for _, e in g))
            ratings = [e for _, e in got if isinstance(e.payload, ServiceRated)]
            assert [(str(e.ticket_id), e.payload.rating) for e in ratings] == [(mine, 4)]

            wall.advance(timedelta(minutes=31))  # the customer's session ends
            late = await client.get("/api/v1/self-service/tickets", headers=customer)
            assert late.status_code == 401
            center = {"Authorization": f"Bearer {token(Role.CENTER_SUPERVISOR)}"}
            listed_sms = (await client.get("/api/v1/sms/messages", headers=center)).json()
            codes = [m for m in listed_sms if m["purpose"] == "sign_in_code"]
            assert codes and all(code not in m["text"] for m in codes)  # the center never sees a code
    finally:
        await service.close()


async def test_five_wrong_codes_lock_it_and_an_expired_code_is_refused(
    fresh_database_url: str, kafka_bootstrap: str, new_topic: TopicFactory, tmp_path: Path, kannel: KannelProcess
) -> None:
    topic, port = await new_topic(partitions=1), free_port()
    service = await make_service(fresh_database_url, kafka_bootstrap, topic, tmp_path, kannel, port, None)
    wall = FixedClock(datetime.now(SHANGHAI))
    service.self_service.wall = wall
    try:
        async with running(service, port) as client:
            client.headers.pop("Authorization")
            before = len(kannel.received())
            challenge = (await _ask(client, "13800003002")).json()["challenge_id"]
            code = await _code_for(kannel, "+8613800003002", before)
            wrong = "000000" if code != "000000" else "111111"
            answers = [
                await client.post("/api/v1/self-service/sessions", json={"challenge_id": challenge, "code": wrong})
                for _ in range(5)
            ]
            assert [a.status_code for a in answers] == [422, 422, 422, 422, 423]
            right = await client.post("/api/v1/self-service/sessions", json={"challenge_id": challenge, "code": code})
            assert right.status_code == 423  # locked: even the right code no longer signs in

            wall.advance(timedelta(minutes=2))
            before = len(kannel.received())
            challenge = (await _ask(client, "13800003002")).json()["challenge_id"]
            code = await _code_for(kannel, "+8613800003002", before)
            wall.advance(timedelta(minutes=5, seconds=1))
            late = await client.post("/api/v1/self-service/sessions", json={"challenge_id": challenge, "code": code})
            assert late.status_code == 410 and late.json()["error"]["code"] == "code_expired"
    finally:
        async with service.sessions() as session:
            rows = list((await session.execute(select(SmsMessage.text))).scalars())
        await service.close()
    assert len(rows) == 2
