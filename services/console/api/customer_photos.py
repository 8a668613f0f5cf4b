"""The customer's photos of a self-service request on the staff's ticket pages (issue 21), read from intake with
the person's own token (intake checks the scope: the dispatched unit, the center) and passed on; intake audits
each download."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from services.console.api.deps import SignedIn, console
from services.console.api.downloads import passed_on
from services.console.clients import ApiFailure

router = APIRouter()


@router.get("/tickets/{ticket_id}/customer-photos")
async def photos(page: SignedIn, ticket_id: str) -> Response:
    """htmx: the photos section of a ticket page (nothing when the customer sent none)."""
    try:
        listed = await console(page.request).apis.call(
            "intake", "GET", f"/api/v1/tickets/{ticket_id}/photos", page.token
        )
    except ApiFailure as failure:
        return page.render("selfservice/_staff_photos.html", status=failure.status, photos=[], ticket_id=ticket_id)
    return page.render("selfservice/_staff_photos.html", photos=listed, ticket_id=ticket_id)


@router.get("/tickets/{ticket_id}/customer-photos/{photo_id}")
async def photo(page: SignedIn, ticket_id: str, photo_id: str) -> Response:
    """One photo as intake stores it (an image type read from its content), always as a download."""
    return await passed_on(page, "intake", f"/api/v1/tickets/{ticket_id}/photos/{photo_id}", photo_id)
