"""A customer's photos with a new ticket (issue 21 part 3): checked before the create, written in its transaction.

The check is shared/policy/photos.py (kind by magic bytes, at most 3, at most 5 MB each); a refusal is one 422
naming each photo at fault and nothing is written. The rows go in the create's own transaction (the writer's
savepoint), so a ticket is stored with all its photos or not at all.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from datetime import datetime

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.schemas import PhotoIn
from services.intake.store import TicketPhoto
from shared.errors import Invalid
from shared.policy.photos import Photo, check_photos, describe
from shared.storage import sha256_hex

PHOTOS = Counter("hotline_intake_customer_photos_total", "Customer photos sent with a new ticket", ["result"])


def checked_photos(photos: Sequence[PhotoIn]) -> list[Photo]:
    """The photos to store with the ticket, or Invalid (422) naming each one refused."""
    files: list[tuple[str, bytes]] = []
    fields: list[dict[str, str]] = []
    for index, photo in enumerate(photos):
        try:
            files.append((photo.filename, base64.b64decode(photo.content_base64, validate=True)))
        except (binascii.Error, ValueError):
            fields.append({"field": f"body.photos.{index}.content_base64", "message": "not valid base64"})
    if fields:
        PHOTOS.labels("refused").inc(len(photos))
        raise Invalid("a photo could not be read", fields=fields)
    accepted, problems = check_photos(files)
    if problems:
        PHOTOS.labels("refused").inc(len(photos))
        fields = [
            {"field": "body.photos" if p.index is None else f"body.photos.{p.index}", "message": describe(p)}
            for p in problems
        ]
        raise Invalid("a photo is refused", code="photo_refused", fields=fields)
    PHOTOS.labels("accepted").inc(len(accepted))
    return accepted


def add_photos(session: AsyncSession, ticket_id: str, photos: Sequence[Photo], now: datetime) -> None:
    """The photo rows of a new ticket, in the caller's (the create's) transaction."""
    for position, photo in enumerate(photos):
        session.add(
            TicketPhoto(
                photo_id=uuid.uuid4().hex,
                ticket_id=ticket_id,
                position=position,
                filename=photo.filename,
                media_type=photo.media_type,
                size_bytes=len(photo.data),
                sha256=sha256_hex(photo.data),
                uploaded_at=now,
                data=photo.data,
            )
        )
