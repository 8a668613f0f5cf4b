"""Attachments of a reply: too large, wrong type, content not matching its type, and a good photo round trip."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from pathlib import Path

from sqlalchemy import inspect

from tests.unit.dispatch.world import CENTER, HANDLER_N1, HANDLER_N2, World, received

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8


async def accepted(world: World) -> str:
    event = received()
    await world.feed(event)
    await world.client.post(f"/api/v1/tickets/{event.ticket_id}/accept", headers=HANDLER_N1)
    assert event.ticket_id is not None
    return event.ticket_id


def body(data: bytes, media_type: str = "image/jpeg") -> dict[str, str]:
    return {"filename": "photo.jpg", "media_type": media_type, "content_base64": base64.b64encode(data).decode()}


async def test_a_good_photo_round_trips_and_its_bytes_stay_out_of_the_database(world: World) -> None:
    ticket = await accepted(world)
    uploaded = await world.client.post(f"/api/v1/tickets/{ticket}/attachments", headers=HANDLER_N1, json=body(JPEG))
    assert uploaded.status_code == 201, uploaded.text
    meta = uploaded.json()
    assert meta["size_bytes"] == len(JPEG) and meta["sha256"] == hashlib.sha256(JPEG).hexdigest()
    for who in (HANDLER_N1, CENTER):
        download = await world.client.get(f"/api/v1/tickets/{ticket}/attachments/{meta['attachment_id']}", headers=who)
        assert download.status_code == 200
        assert download.content == JPEG and download.headers["content-type"] == "image/jpeg"
    assert (
        await world.client.get(f"/api/v1/tickets/{ticket}/attachments/{meta['attachment_id']}", headers=HANDLER_N2)
    ).status_code == 404
    folder = Path(world.service.dispatch.attachments_dir or "")
    assert await asyncio.to_thread(lambda: any(p.is_file() and p.read_bytes() == JPEG for p in folder.rglob("*")))

    def binary_columns(connection: object) -> list[str]:
        inspector = inspect(connection)
        return [
            f"{t}.{c['name']}"
            for t in inspector.get_table_names()
            for c in inspector.get_columns(t)
            if "BLOB" in str(c["type"]).upper() and t != "outbox"
        ]

    async with world.service.engine.connect() as connection:
        assert await connection.run_sync(binary_columns) == []


async def test_a_file_over_the_limit_is_refused_with_413(world: World) -> None:
    ticket = await accepted(world)
    big = JPEG + b"\x00" * (64 * 1024)
    response = await world.client.post(f"/api/v1/tickets/{ticket}/attachments", headers=HANDLER_N1, json=body(big))
    assert response.status_code == 413
    assert response.json()["error"]["fields"][0]["field"] == "content_base64"


async def test_a_type_outside_the_list_is_refused_with_415(world: World) -> None:
    ticket = await accepted(world)
    response = await world.client.post(
        f"/api/v1/tickets/{ticket}/attachments",
        headers=HANDLER_N1,
        json=body(b"MZ\x90\x00", "application/x-msdownload"),
    )
    assert response.status_code == 415
    assert response.json()["error"]["fields"][0]["field"] == "media_type"


async def test_content_that_is_not_what_it_claims_is_refused(world: World) -> None:
    ticket = await accepted(world)
    response = await world.client.post(
        f"/api/v1/tickets/{ticket}/attachments", headers=HANDLER_N1, json=body(b"<html>not a photo</html>")
    )
    assert response.status_code == 415
    garbage = await world.client.post(
        f"/api/v1/tickets/{ticket}/attachments",
        headers=HANDLER_N1,
        json={"media_type": "image/png", "content_base64": "***"},
    )
    assert garbage.status_code == 422


async def test_a_reply_cannot_use_another_tickets_attachment(world: World) -> None:
    first = await accepted(world)
    second = await accepted(world)
    meta = (await world.client.post(f"/api/v1/tickets/{first}/attachments", headers=HANDLER_N1, json=body(JPEG))).json()
    response = await world.client.post(
        f"/api/v1/tickets/{second}/reply",
        headers=HANDLER_N1,
        json={"result": "done", "attachment_ids": [meta["attachment_id"]]},
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "attachment_ids.0"
