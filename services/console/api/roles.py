"""Each role's home after sign-in, and switching between a person's roles (identity issues the new token)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from services.console.api.deps import SignedInPost, console
from services.console.clients import ApiFailure
from services.console.handlers import work

router = APIRouter()


@router.post("/role")
async def switch_role(page: SignedInPost, role: Annotated[str, Form()] = "") -> Response:
    try:
        await work.switch_role(console(page.request).apis, page.user, role, datetime.now(UTC))
    except ApiFailure as failure:
        return page.render("error.html", status=failure.status, message=failure.message)
    await page.db.commit()
    return RedirectResponse(work.home_of(page.user.role), status_code=303)
