"""Each role's home after sign-in, and switching between a person's roles (identity issues the new token)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from services.console.api.deps import SignedIn, SignedInPost, console
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


@router.get("/role")
async def roles_page(page: SignedIn) -> Response:
    """The person's roles (from identity) and the switch between them."""
    roles = await work.my_roles(console(page.request).apis, page.token)
    return page.render("work/roles.html", roles=roles, home=work.home_of(page.user.role))
