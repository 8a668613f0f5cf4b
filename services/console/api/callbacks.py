"""The callback desk: the due queue in policy order, claim, reveal with a reason, record each outcome."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from services.console import handlers
from services.console.api.deps import SignedIn, SignedInPost, console
from services.console.clients import ApiFailure
from services.console.handlers.new_requests import new_request_context, new_request_errors
from services.console.handlers.reporting import survey_answers, survey_questions
from shared.policy.categories import DEFAULT_RANK

router = APIRouter()

OUTCOMES = ("reached", "reply_mismatch", "asked_another_time", "no_answer", "busy", "switched_off", "wrong_number")


@router.get("/callbacks")
async def desk(page: SignedIn) -> Response:
    apis = console(page.request).apis
    try:
        queue = await apis.call("callback", "GET", "/api/v1/callbacks/due", page.token, params={"limit": 100})
        upcoming = await apis.call(
            "callback", "GET", "/api/v1/callbacks/due", page.token, params={"limit": 100, "include_later": "true"}
        )
    except ApiFailure as failure:
        return page.render("error.html", status=failure.status, message=failure.message)
    due_ids = {c["callback_id"] for c in queue["items"]}
    later = [c for c in upcoming["items"] if c["callback_id"] not in due_ids]
    return page.render("callbacks.html", queue=queue, later=later)


@router.get("/callbacks/next")
async def next_callback(page: SignedIn) -> Response:
    """The keyboard's "next callback": the first of the due queue."""
    queue = await console(page.request).apis.call(
        "callback", "GET", "/api/v1/callbacks/due", page.token, params={"limit": 1}
    )
    if queue["items"]:
        return RedirectResponse(f"/callbacks/{queue['items'][0]['callback_id']}", status_code=303)
    return RedirectResponse("/callbacks", status_code=303)


@router.get("/callbacks/{callback_id}")
async def callback(page: SignedIn, callback_id: str) -> Response:
    return await _render(page, callback_id)


async def _render(page: SignedIn, callback_id: str, status: int = 200, **extra: object) -> Response:
    try:
        detail = await console(page.request).apis.call(
            "callback", "GET", f"/api/v1/callbacks/{callback_id}", page.token
        )
    except ApiFailure as failure:
        return page.render("error.html", status=failure.status, message=failure.message)
    return page.render(
        "callback.html",
        status=status,
        c=detail,
        outcomes=OUTCOMES,
        categories=[c.value for c in DEFAULT_RANK],
        errors={},
        survey=survey_questions(console(page.request).policies, page.user.branch, detail.get("category")),  # issue 18
        **{"new_request": new_request_context(), **extra},
    )


@router.post("/callbacks/{callback_id}/claim")
async def claim(page: SignedInPost, callback_id: str) -> Response:
    try:
        await console(page.request).apis.call("callback", "POST", f"/api/v1/callbacks/{callback_id}/claim", page.token)
    except ApiFailure as failure:
        return await _render(page, callback_id, status=failure.status, error=failure.message)
    return RedirectResponse(f"/callbacks/{callback_id}", status_code=303)


@router.post("/callbacks/{callback_id}/reveal")
async def reveal(page: SignedInPost, callback_id: str, reason: Annotated[str, Form()] = "") -> Response:
    """RULES.md §6: the number in clear for the agent holding the claim, with the reason audited."""
    if len(reason.strip()) < 3:
        return await _render(
            page, callback_id, status=422, reveal_error=page.language.gettext("Give the reason (at least 3 characters)")
        )
    try:
        answer = await console(page.request).apis.call(
            "callback",
            "POST",
            f"/api/v1/callbacks/{callback_id}/reveal",
            page.token,
            json={"field": "phone", "reason": reason.strip()},
        )
    except ApiFailure as failure:
        return await _render(page, callback_id, status=failure.status, reveal_error=failure.message)
    return await _render(page, callback_id, revealed=answer.get("value"))


@router.post("/callbacks/{callback_id}/outcome")
async def outcome(page: SignedInPost, callback_id: str) -> Response:
    form = {k: v.strip() for k, v in (await page.request.form()).items() if isinstance(v, str)}
    body = handlers.outcome_body(form, page.language.zone)
    if answers := survey_answers(form):  # issue 18: the branch's own survey questions
        body["answers"] = answers
    try:
        result = await console(page.request).apis.call(
            "callback", "POST", f"/api/v1/callbacks/{callback_id}/outcome", page.token, json=body
        )
    except ApiFailure as failure:
        # intake's refusal of the new request goes beside its inputs, with what the agent typed (issue 16)
        return await _render(
            page,
            callback_id,
            status=failure.status,
            error=failure.message,
            outcome_errors=failure.fields,
            new_request=new_request_context(form, new_request_errors(failure.fields)),
        )
    return await _render(page, callback_id, recorded=result.get("events", []))
