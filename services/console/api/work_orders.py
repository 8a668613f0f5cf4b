"""The new work order form: fields by category, split preview, create through intake, errors beside the fields."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from services.console import handlers
from services.console.api.deps import SignedIn, SignedInPost, console
from services.console.handlers import knowledge
from services.console.schemas import WorkOrderForm
from shared.policy.categories import DEFAULT_RANK, SUBTYPES, Category
from shared.policy.work_order import CLOSABLE_ON_CALL, SAFETY_PRECAUTIONS

router = APIRouter()


def _context(form: WorkOrderForm, errors: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    category = form.category_key
    return {
        "form": form,
        "errors": errors or {},
        "required": form.required(),
        "categories": [c.value for c in DEFAULT_RANK],
        "subtypes": sorted(s.value for s in SUBTYPES.get(category, ())) if category else [],
        "all_subtypes": sorted(s.value for s in SUBTYPES[Category.SERVICE_REQUEST]),
        "closable": category in CLOSABLE_ON_CALL if category else False,
        "precautions": SAFETY_PRECAUTIONS,
        **extra,
    }


@router.get("/work-orders/new")
async def new_work_order(
    page: SignedIn,
    category: str = "",
    call_id: str = "",
    phone: str = "",
    parent_ticket_id: str = "",
    knowledge_article_id: str = "",
) -> Response:
    form = WorkOrderForm(
        category=category,
        call_id=call_id,
        phone=phone,
        parent_ticket_id=parent_ticket_id[:128],
        knowledge_article_id=knowledge_article_id,
    )
    if call_id and not phone:
        # the call pop's one click: the caller's number, kept server-side since the call rang
        call = console(page.request).hub.call(call_id)
        if call and call.get("branch") == page.user.branch:
            form.phone = call.get("caller_number") or ""
    kb_title = await knowledge.title_of(console(page.request).apis, page.token, knowledge_article_id)
    return page.render("work_order.html", **_context(form), kb_title=kb_title)


@router.post("/work-orders/fields")
async def fields(page: SignedInPost) -> Response:
    """htmx: the form's fields again for the chosen category (required marks, complaint, alarm script)."""
    form = WorkOrderForm.from_form(await page.request.form())
    return page.render("_work_order_fields.html", **_context(form))


@router.get("/work-orders/duplicates")
async def duplicates(page: SignedIn, category: str = "", address: str = "") -> Response:
    """htmx: open tickets of the same category at the same address (a likely duplicate of this call)."""
    found = await handlers.open_duplicates(console(page.request).apis, page.token, category, address)
    return page.render("_duplicates.html", tickets=found)


@router.post("/work-orders/preview")
async def preview(page: SignedInPost) -> Response:
    """htmx: the tickets intake will create for the call's requests, per unit and category."""
    form = WorkOrderForm.from_form(await page.request.form())
    plans = await handlers.preview_split(console(page.request).apis, page.token, form) if form.requests else []
    return page.render("_split_preview.html", plans=plans, form=form)


@router.post("/work-orders")
async def create(page: SignedInPost) -> Response:
    form = WorkOrderForm.from_form(await page.request.form())
    result = await handlers.create_work_order(console(page.request).apis, page.token, form)
    if result.errors:
        return page.render("work_order.html", status=422, **_context(form, result.errors, message=result.message))
    if form.category == Category.ALARM.value and not form.requests:
        return page.render("alarm_done.html", ticket=result.tickets[0], result=result, form=form)
    if len(result.tickets) == 1:
        ticket = result.tickets[0]
        return RedirectResponse(f"/tickets/{ticket['ticket_id']}?created={ticket['ticket_number']}", status_code=303)
    return page.render("created.html", tickets=result.tickets)
