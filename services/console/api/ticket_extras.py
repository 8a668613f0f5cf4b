"""The ticket page's attachments (streamed from dispatch with the person's own token) and its actions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from services.console.api.deps import SignedIn, SignedInPost, console
from services.console.api.downloads import passed_on
from services.console.area_notices import area_notices
from services.console.handlers.ticket_extras import resolve_on_call

router = APIRouter()


@router.get("/tickets/{ticket_id}/attachments/{attachment_id}")
async def attachment(page: SignedIn, ticket_id: str, attachment_id: str) -> Response:
    """The file as dispatch stores it, read with the person's token (dispatch checks the scope), passed on."""
    return await passed_on(page, "dispatch", f"/api/v1/tickets/{ticket_id}/attachments/{attachment_id}", attachment_id)


@router.post("/tickets/{ticket_id}/resolve-on-call")
async def resolve(page: SignedInPost, ticket_id: str, answer: Annotated[str, Form()] = "") -> Response:
    """htmx: close the ticket on the call with the answer given; intake's refusal beside the button."""
    if not answer.strip():
        errors = {"answer": page.language.gettext("Write the answer you gave the caller")}
        return page.render("ticket16/_resolve.html", status=422, errors=errors, ticket_id=ticket_id, answer=answer)
    errors = await resolve_on_call(console(page.request).apis, page.token, ticket_id, answer.strip())
    status = 200 if not errors else 409 if "form" in errors else 422
    return page.render(
        "ticket16/_resolve.html", status=status, errors=errors, ticket_id=ticket_id, answer=answer, done=not errors
    )


@router.get("/work-orders/area-notices")
async def work_order_notices(page: SignedIn, district: str = "", community: str = "") -> Response:
    """htmx: the hot spots and planned interruptions of the district the agent typed (issue 16)."""
    notices = await area_notices(
        console(page.request).apis, page.token, page.user.branch, district[:64], community[:64] or None
    )
    if not notices:
        return Response("", media_type="text/html")
    return page.render("notices16/_area_notices.html", notices=notices)
