"""The desk's new requests (issue 16): the inputs per kind as the agent picks it, and the rejected ones."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from services.console.api.deps import SignedIn, SignedInPost, console
from services.console.clients import ApiFailure
from services.console.handlers.new_requests import new_request_context, rejected_rows

router = APIRouter()


@router.post("/callbacks/{callback_id}/new-request-fields")
async def new_request_fields(page: SignedInPost, callback_id: str) -> Response:
    """htmx: the new request's inputs again for the chosen kind (required marks, the type of a service request)."""
    form = {k: v.strip() for k, v in (await page.request.form()).items() if isinstance(v, str) and k.startswith("new_")}
    return page.render(
        "callback16/_new_request.html", c={"callback_id": callback_id}, new_request=new_request_context(form)
    )


@router.get("/new-requests")
async def rejected(page: SignedIn) -> Response:
    """New requests intake refused after the call: each to raise again, corrected, as a linked work order."""
    try:
        items = await console(page.request).apis.call(
            "callback", "GET", "/api/v1/new-requests", page.token, params={"status": "rejected"}
        )
    except ApiFailure as failure:
        return page.render("error.html", status=failure.status, message=failure.message)
    return page.render("callback16/rejected.html", rows=rejected_rows(items))
