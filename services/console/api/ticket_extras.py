"""The ticket page's attachments (streamed from dispatch with the person's own token) and its actions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from services.console.api.deps import SignedIn, SignedInPost, console
from services.console.area_notices import area_notices
from services.console.clients import ApiFailure
from services.console.handlers.ticket_extras import resolve_on_call

router = APIRouter()

# what the browser may be told about the file: its type and length as the owning service stored them
PASSED_HEADERS = ("content-type", "content-length")


@router.get("/tickets/{ticket_id}/attachments/{attachment_id}")
async def attachment(page: SignedIn, ticket_id: str, attachment_id: str) -> Response:
    """The file as dispatch stores it, read with the person's token (dispatch checks the scope), passed on."""
    app = console(page.request)
    try:
        upstream = await app.apis.stream(
            "dispatch", f"/api/v1/tickets/{ticket_id}/attachments/{attachment_id}", page.token
        )
    except ApiFailure as failure:
        return page.render("error.html", status=failure.status, message=failure.message)

    async def body() -> AsyncIterator[bytes]:
        async for chunk in upstream.aiter_bytes():
            yield chunk

    headers = {name: upstream.headers[name] for name in PASSED_HEADERS if name in upstream.headers}
    # always a download, never rendered in the console's origin (a PDF or image from outside)
    headers["Content-Disposition"] = f'attachment; filename="{attachment_id}"'
    headers["Cache-Control"] = "private, no-store"
    return StreamingResponse(body(), headers=headers, background=BackgroundTask(upstream.aclose))


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
