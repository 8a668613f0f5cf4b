"""Issue 21: a self-service request's photos go through intake's API onto real PostgreSQL with the ticket, in its
transaction; staff in scope list and download them (audited); a refused photo stores neither ticket nor photo."""

from __future__ import annotations

import base64
import io
import os

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select

from services.intake.bootstrap import Intake
from services.intake.photos import PHOTOS
from services.intake.store import Audit, Ticket, TicketPhoto
from shared.auth import Role
from tests.unit.intake.conftest import repair, token

pytestmark = pytest.mark.integration

INTEGRATION = token(Role.INTEGRATION, subject="outbound")
CENTER = token(Role.CENTER_SUPERVISOR, subject="center-1")


def _photo(kind: str = "JPEG", colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, kind)
    return out.getvalue()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _web_repair(photos: list[dict[str, str]]) -> dict[str, object]:
    return {**repair(), "channel": "web", "photos": photos}


async def _counts(intake: Intake) -> tuple[int, int]:
    async with intake.sessions() as session:
        tickets = await session.scalar(select(func.count()).select_from(Ticket))
        photos = await session.scalar(select(func.count()).select_from(TicketPhoto))
    return int(tickets or 0), int(photos or 0)


async def test_photos_are_stored_with_the_ticket_and_staff_in_scope_download_them(
    client: httpx.AsyncClient, intake: Intake
) -> None:
    accepted_before = PHOTOS.labels("accepted")._value.get()
    jpeg, png = _photo("JPEG"), _photo("PNG", (10, 120, 200))
    body = _web_repair([{"filename": "灶台.jpg", "content_base64": _b64(jpeg)}, {"content_base64": _b64(png)}])
    created = await client.post("/api/v1/tickets", json=body, headers={**INTEGRATION, "Idempotency-Key": "ss-1-abc"})
    assert created.status_code == 201, created.text
    ticket_id = created.json()["ticket_id"]
    assert await _counts(intake) == (1, 2)
    assert PHOTOS.labels("accepted")._value.get() == accepted_before + 2
    metrics = (await client.get("/metrics")).text
    assert 'hotline_intake_customer_photos_total{result="accepted"}' in metrics

    listed = await client.get(f"/api/v1/tickets/{ticket_id}/photos", headers=CENTER)
    assert listed.status_code == 200, listed.text
    rows = listed.json()
    assert [(r["filename"], r["media_type"], r["size_bytes"]) for r in rows] == [
        ("灶台.jpg", "image/jpeg", len(jpeg)),
        ("photo-2", "image/png", len(png)),
    ]
    got = await client.get(f"/api/v1/tickets/{ticket_id}/photos/{rows[1]['photo_id']}", headers=CENTER)
    assert got.status_code == 200
    assert got.content == png
    assert got.headers["content-type"] == "image/png"
    assert got.headers["content-disposition"].startswith("attachment")
    async with intake.sessions() as session:
        audited = list(await session.scalars(select(Audit).where(Audit.action == "photo_downloaded")))
    assert [(a.subject, a.ticket_id, (a.detail or {}).get("photo_id")) for a in audited] == [
        ("center-1", ticket_id, rows[1]["photo_id"])
    ]

    # the unit the ticket is dispatched to sees them; another unit does not
    async with intake.sessions() as session, session.begin():
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.unit_id = "unit-qx"
    mine = token(Role.UNIT_HANDLER, subject="handler-1", unit="unit-qx")
    other = token(Role.UNIT_HANDLER, subject="handler-2", unit="unit-xx")
    assert (await client.get(f"/api/v1/tickets/{ticket_id}/photos/{rows[0]['photo_id']}", headers=mine)).content == jpeg
    refused = await client.get(f"/api/v1/tickets/{ticket_id}/photos/{rows[0]['photo_id']}", headers=other)
    assert refused.status_code in (403, 404)
    assert (await client.get(f"/api/v1/tickets/{ticket_id}/photos", headers=other)).status_code in (403, 404)
    missing = await client.get(f"/api/v1/tickets/{ticket_id}/photos/nope", headers=CENTER)
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("photos", "field"),
    [
        ([{"filename": "ok.jpg", "content_base64": "AAAA"}], "body.photos.0"),  # three zero bytes: not a photo
        ([{"filename": "a.jpg", "content_base64": ""}], "body.photos.0"),
        ([{"filename": "x.jpg", "content_base64": "!!not base64!!"}], "body.photos.0.content_base64"),
        ([{"content_base64": ""}] * 4, "body.photos"),
    ],
)
async def test_a_refused_photo_is_a_422_naming_it_and_nothing_is_stored(
    client: httpx.AsyncClient, intake: Intake, photos: list[dict[str, str]], field: str
) -> None:
    good = {"filename": "good.jpg", "content_base64": _b64(_photo())}
    body = _web_repair([good, *photos] if len(photos) < 3 else photos)
    refused = await client.post("/api/v1/tickets", json=body, headers=INTEGRATION)
    assert refused.status_code == 422, refused.text
    fields = {f["field"] for f in refused.json()["error"]["fields"]}
    expected = field.replace("photos.0", "photos.1") if len(photos) < 3 else field
    assert any(f == expected or f.startswith(expected) for f in fields), fields
    assert await _counts(intake) == (0, 0)


async def test_a_png_declared_as_anything_is_stored_as_the_png_it_is(client: httpx.AsyncClient, intake: Intake) -> None:
    png = _photo("PNG")
    created = await client.post(
        "/api/v1/tickets",
        json=_web_repair([{"filename": "scan.pdf", "content_base64": _b64(png)}]),
        headers=INTEGRATION,
    )
    assert created.status_code == 201, created.text
    async with intake.sessions() as session:
        stored = await session.scalar(select(TicketPhoto.media_type))
    assert stored == "image/png"


async def test_a_create_may_carry_photos_of_several_mb_but_no_other_route_takes_such_a_body(
    client: httpx.AsyncClient, intake: Intake
) -> None:
    """The create's body limit follows the photos (3 of 5 MB, as base64); every other route keeps 1 MB."""
    noise = Image.frombytes("RGB", (1000, 1000), os.urandom(1000 * 1000 * 3))  # a PNG of ~3 MB: incompressible
    out = io.BytesIO()
    noise.save(out, "PNG")
    large = out.getvalue()
    assert 2_500_000 < len(large) < 5 * 1024 * 1024
    body = _web_repair([{"filename": "meter.png", "content_base64": _b64(large)}])
    created = await client.post("/api/v1/tickets", json=body, headers={**INTEGRATION, "Idempotency-Key": "ss-big-1"})
    assert created.status_code == 201, created.text
    assert await _counts(intake) == (1, 1)

    padded = {**repair(), "description": "x" * 2_000_000}
    refused = await client.post("/api/v1/alarms", json=padded, headers=CENTER)
    assert refused.status_code == 413, refused.text
    assert refused.json()["error"]["code"] == "payload_too_large"
