"""The org admin's pages: divisions, units, service areas and routing rules, with a preview of the routing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from services.console.api.deps import Page, SignedIn, SignedInPost, console
from services.console.clients import ApiFailure
from services.console.handlers import work
from shared.policy.categories import DEFAULT_RANK, Subtype

router = APIRouter(prefix="/org")


def _admin_only(page: Page) -> Response | None:
    if page.user.role != "admin":
        return page.render("error.html", status=403, message=page.language.gettext("This page is for org admins"))
    return None


def _list(text: str) -> list[str]:
    """A comma-, 、- or line-separated list as typed."""
    for sep in ("，", "、", "\n"):
        text = text.replace(sep, ",")
    return [part.strip() for part in text.split(",") if part.strip()]


async def _show(
    page: Page,
    status: int = 200,
    errors: dict[str, str] | None = None,
    form: str = "",
    values: dict[str, Any] | None = None,
    preview: dict[str, Any] | None = None,
) -> Response:
    refused = _admin_only(page)
    if refused is not None:
        return refused
    apis = console(page.request).apis
    try:
        org = await apis.call("dispatch", "GET", "/api/v1/org", page.token)
    except ApiFailure as failure:
        return page.render("error.html", status=failure.status, message=failure.message)
    return page.render(
        "org/home.html",
        status=status,
        org=org,
        units=[u for d in org["divisions"] for u in d["units"]],
        errors=errors or {},
        form=form,
        values=values or {},
        preview=preview,
        categories=[c.value for c in DEFAULT_RANK],
        subtypes=[s.value for s in Subtype],
        saved=page.request.query_params.get("saved", ""),
        saved_at=console(page.request).clock.now(),
        roles=await work.my_roles(apis, page.token),
    )


@router.get("")
async def home(page: SignedIn) -> Response:
    return await _show(page)


def _errors(failure: ApiFailure, names: dict[str, str]) -> dict[str, str]:
    """Dispatch's field errors under the form's input names (the message as dispatch gave it)."""
    out: dict[str, str] = {}
    for path, message in failure.fields.items():
        key = path.split(".")[-1]
        out[names.get(key, key)] = message
    return out or {"form": failure.message}


async def _put(
    page: Page, path: str, body: dict[str, Any], form: str, names: dict[str, str], values: dict[str, Any]
) -> Response:
    try:
        await console(page.request).apis.call("dispatch", "PUT", f"/api/v1/admin/org/{path}", page.token, json=body)
    except ApiFailure as failure:
        return await _show(page, 422, _errors(failure, names), form, values)
    return RedirectResponse(f"/org?saved={form}", status_code=303)


@router.post("/divisions")
async def put_division(
    page: SignedInPost,
    division_id: Annotated[str, Form()] = "",
    division_name: Annotated[str, Form()] = "",
    division_active: Annotated[str, Form()] = "",
) -> Response:
    name, active = division_name, division_active
    values = {"division_id": division_id, "division_name": name}
    if not division_id.strip() or not name.strip():
        errors = {"division_id": "Give the code"} if not division_id.strip() else {"division_name": "Give the name"}
        return await _show(page, 422, errors, "division", values)
    body = {"name": name.strip(), "active": bool(active)}
    return await _put(page, f"divisions/{division_id.strip()}", body, "division", {"name": "division_name"}, values)


@router.post("/units")
async def put_unit(
    page: SignedInPost,
    unit_id: Annotated[str, Form()] = "",
    unit_name: Annotated[str, Form()] = "",
    division_id: Annotated[str, Form()] = "",
    duty_phone: Annotated[str, Form()] = "",
    unit_active: Annotated[str, Form()] = "",
) -> Response:
    name, active = unit_name, unit_active
    values = {"unit_id": unit_id, "unit_name": name, "unit_division": division_id, "duty_phone": duty_phone}
    if not unit_id.strip() or not name.strip():
        errors = {"unit_id": "Give the code"} if not unit_id.strip() else {"unit_name": "Give the name"}
        return await _show(page, 422, errors, "unit", values)
    body = {
        "name": name.strip(),
        "division_id": division_id,
        "duty_phone": duty_phone.strip() or None,
        "active": bool(active),
    }
    names = {"name": "unit_name", "division_id": "unit_division"}
    return await _put(page, f"units/{unit_id.strip()}", body, "unit", names, values)


@router.post("/rules")
async def put_rule(
    page: SignedInPost,
    rule_id: Annotated[str, Form()] = "",
    unit: Annotated[str, Form()] = "",
    categories: Annotated[list[str] | None, Form()] = None,
    subtypes: Annotated[list[str] | None, Form()] = None,
    districts: Annotated[str, Form()] = "",
    communities: Annotated[str, Form()] = "",
    address_patterns: Annotated[str, Form()] = "",
) -> Response:
    """A routing rule (a service area: districts, communities, address patterns; and/or categories).

    Dispatch refuses, with the reason, an area that overlaps another unit's and a rule that routes nowhere.
    """
    values = {
        "rule_id": rule_id,
        "rule_unit": unit,
        "categories": categories or [],
        "subtypes": subtypes or [],
        "districts": districts,
        "communities": communities,
        "address_patterns": address_patterns,
    }
    if not rule_id.strip():
        return await _show(page, 422, {"rule_id": "Give the rule a code"}, "rule", values)
    body = {
        "unit": unit,
        "categories": [c for c in categories or [] if c],
        "subtypes": [s for s in subtypes or [] if s],
        "districts": _list(districts),
        "communities": _list(communities),
        "address_patterns": _list(address_patterns),
    }
    return await _put(page, f"rules/{rule_id.strip()}", body, "rule", {"unit": "rule_unit"}, values)


@router.post("/preview")
async def preview(
    page: SignedInPost,
    p_category: Annotated[str, Form()] = "repair",
    p_subtype: Annotated[str, Form()] = "",
    p_district: Annotated[str, Form()] = "",
    p_community: Annotated[str, Form()] = "",
    p_address: Annotated[str, Form()] = "",
) -> Response:
    category, subtype, district, community, address = p_category, p_subtype, p_district, p_community, p_address
    """Where the rules would send a sample request (nothing is dispatched)."""
    values = {"p_category": category, "p_subtype": subtype, "p_district": district}
    values.update(p_community=community, p_address=address)
    body = {
        "category": category,
        "subtype": subtype or None,
        "district": district.strip() or None,
        "community": community.strip() or None,
        "address": address.strip() or None,
    }
    try:
        decision = await console(page.request).apis.call(
            "dispatch", "POST", "/api/v1/org/route-preview", page.token, json=body
        )
    except ApiFailure as failure:
        return await _show(page, 422, _errors(failure, {}), "preview", values)
    return await _show(page, form="preview", values=values, preview=decision)
