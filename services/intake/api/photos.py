"""A ticket's customer photos (issue 21): the list and the download, for staff whose scope holds the ticket."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from services.intake import store
from services.intake.api.common import Clk, Db, TicketReader, ticket_in_scope
from services.intake.schemas import PhotoOut
from services.intake.store import AUDIT
from shared.auth import SecureRouter
from shared.errors import NotFound
from shared.http.responses import download

photos = SecureRouter(prefix="/api/v1", tags=["tickets"])


@photos.get("/tickets/{ticket_id}/photos", response_model=list[PhotoOut])
async def list_photos(ticket_id: str, principal: TicketReader, db: Db) -> Any:
    """The photos the customer sent with the ticket, in their order (no bytes)."""
    await ticket_in_scope(db, ticket_id, principal)
    return [PhotoOut.model_validate(p, from_attributes=True) for p in await store.photos_of(db, ticket_id)]


@photos.get(
    "/tickets/{ticket_id}/photos/{photo_id}",
    response_class=Response,
    responses={200: {"description": "the photo as stored", "content": {"image/*": {}}}},
)
async def download_photo(ticket_id: str, photo_id: str, principal: TicketReader, db: Db, clock: Clk) -> Response:
    """One photo's bytes in their own type; the read is audited (who, which ticket, which photo)."""
    ticket = await ticket_in_scope(db, ticket_id, principal)
    photo = await store.photo_with_bytes(db, ticket_id, photo_id)
    if photo is None:
        raise NotFound(f"photo {photo_id} not found")
    await AUDIT.record(
        db,
        principal=principal,
        action="photo_downloaded",
        at=clock.now(),
        ticket_id=ticket.ticket_id,
        detail={"photo_id": photo.photo_id},
    )
    await db.commit()
    return download(photo.data, photo.media_type, photo.photo_id)
