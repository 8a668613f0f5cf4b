"""The knowledge base pages: search beside the call, article view, writing, review and publish queues, history,
needs and the improvement lists, feedback on a ticket. Routes only: parse, call a handler, present."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from services.console.api.deps import Page, SignedIn, SignedInPost, console
from services.console.clients import ApiFailure
from services.console.handlers import knowledge
from services.console.handlers.knowledge import ArticleForm, StepRefused
from shared.markdown import render_markdown
from shared.policy.categories import DEFAULT_RANK, SUBTYPES

router = APIRouter(prefix="/knowledge")

# what each role is shown (the knowledge service decides again on every call; RULES.md §7 knowledge base)
WRITERS = ("unit_handler", "division_supervisor")
SUPERVISORS = ("division_supervisor", "center_supervisor")
OWNERS = ("unit_handler", "division_supervisor", "center_supervisor")
AGENTS = ("agent", "center_supervisor")


def _labels() -> dict[str, Any]:
    return {
        "status_labels": knowledge.STATUS_LABELS,
        "action_labels": knowledge.ACTION_LABELS,
        "field_labels": knowledge.FIELD_LABELS,
    }


def _form_context(form: ArticleForm, errors: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "form": form,
        "errors": errors or {},
        "categories": [c.value for c in DEFAULT_RANK],
        "subtypes": sorted({s.value for subtypes in SUBTYPES.values() for s in subtypes}),
        "preview": render_markdown(form.body) if form.body.strip() else "",
        **_labels(),
        **extra,
    }


def _failure_page(page: Page, failure: ApiFailure) -> Response:
    return page.render("error.html", status=failure.status, message=failure.message)


# --------------------------------------------------------------------------- the knowledge home of each role


@router.get("")
async def home(page: SignedIn, q: str = "") -> Response:
    app, user = console(page.request), page.user
    token = page.token
    found = await knowledge.search(app.apis, token, q) if q.strip() else None
    try:
        mine = (
            await knowledge.listing(app.apis, token, "articles", mine="true", limit=100) if user.role in WRITERS else []
        )
        stale = await knowledge.listing(app.apis, token, "articles/stale") if user.role in OWNERS else []
    except ApiFailure as failure:
        return _failure_page(page, failure)
    return page.render(
        "knowledge/home.html", found=found, q=q, mine=mine, stale=stale, mode="page", call_id="", **_labels()
    )


@router.get("/search")
async def search(page: SignedIn, q: str = "", category: str = "", mode: str = "form", call_id: str = "") -> Response:
    """htmx: the results beside the call (a search that finds nothing is kept by the service as a need)."""
    found = await knowledge.search(console(page.request).apis, page.token, q, category)
    return page.render("knowledge/_results.html", found=found, mode=mode, call_id=call_id, **_labels())


@router.get("/attach/{article_id}")
async def attach(page: SignedIn, article_id: str) -> Response:
    """htmx: the article attached to the work order's first-contact resolution (a hidden input in the form)."""
    if article_id == "-":  # the agent removed it
        return page.render("knowledge/_attached.html", article_id="", title="")
    try:
        found = await knowledge.article(console(page.request).apis, page.token, article_id)
    except ApiFailure as failure:
        return HTMLResponse(f"<p class='error' role='alert'>{failure.message}</p>", status_code=failure.status)
    return page.render("knowledge/_attached.html", article_id=article_id, title=found["current"]["title"])


@router.get("/review")
async def review_queue(page: SignedIn) -> Response:
    """A division's submitted drafts of its units; the center's approved versions waiting to be published."""
    rows = []
    if page.user.role in SUPERVISORS:
        try:
            rows = await knowledge.listing(console(page.request).apis, page.token, "review-queue")
        except ApiFailure as failure:
            return _failure_page(page, failure)
    return page.render("knowledge/review.html", rows=rows, **_labels())


@router.get("/needs")
async def needs(page: SignedIn, sent: str = "") -> Response:
    try:
        loop = await knowledge.improvement(console(page.request).apis, page.token)
    except ApiFailure as failure:
        return _failure_page(page, failure)
    return page.render("knowledge/needs.html", improve=loop, errors={}, values={}, sent=sent, writers=WRITERS)


@router.post("/needs")
async def submit_need(
    page: SignedInPost, text: Annotated[str, Form()] = "", note: Annotated[str, Form()] = ""
) -> Response:
    """§11(八): a unit reports a knowledge need; the center sees it among the most-needed answers."""
    app = console(page.request)
    need, errors = await knowledge.submit_need(app.apis, page.token, text, note)
    if need is None:
        try:
            loop = await knowledge.improvement(app.apis, page.token)
        except ApiFailure:
            loop = None
        values = {"text": text, "note": note}
        return page.render(
            "knowledge/needs.html", status=422, improve=loop, errors=errors, values=values, sent="", writers=WRITERS
        )
    return RedirectResponse("/knowledge/needs?sent=1", status_code=303)


# --------------------------------------------------------------------------- writing


@router.get("/new")
async def new_article(page: SignedIn) -> Response:
    return page.render("knowledge/edit.html", article=None, **_form_context(ArticleForm()))


@router.post("/preview")
async def preview(page: SignedInPost, body: Annotated[str, Form()] = "") -> Response:
    """htmx: the body as agents will read it (the same safe rendering as the knowledge service's)."""
    return page.render("knowledge/_preview.html", preview=render_markdown(body) if body.strip() else "")


@router.post("")
async def create(page: SignedInPost) -> Response:
    form = ArticleForm.from_form(await page.request.form())
    made, errors = await knowledge.create(console(page.request).apis, page.token, form)
    if made is None:
        return page.render("knowledge/edit.html", status=422, article=None, **_form_context(form, errors))
    return RedirectResponse(f"/knowledge/{made['article_id']}?done=created", status_code=303)


@router.get("/{article_id}/edit")
async def edit(page: SignedIn, article_id: str) -> Response:
    try:
        found = await knowledge.article(console(page.request).apis, page.token, article_id)
    except ApiFailure as failure:
        return _failure_page(page, failure)
    form = ArticleForm.of_version(found["current"])
    return page.render("knowledge/edit.html", article=found, **_form_context(form))


@router.post("/{article_id}/edit")
async def save(page: SignedInPost, article_id: str) -> Response:
    app = console(page.request)
    posted = await page.request.form()
    form = ArticleForm.from_form(posted)
    _, refusal = await knowledge.save_draft(app.apis, page.token, article_id, form)
    if refusal is None:
        upload = posted.get("file")
        if isinstance(upload, UploadFile) and upload.filename:
            refusal = await knowledge.add_file(app.apis, page.token, article_id, upload)
    if refusal is not None:
        try:
            found = await knowledge.article(app.apis, page.token, article_id)
        except ApiFailure as failure:
            return _failure_page(page, failure)
        context = _form_context(form, refusal.errors, refusal=refusal)
        return page.render("knowledge/edit.html", status=refusal.status, article=found, **context)
    return RedirectResponse(f"/knowledge/{article_id}?done=saved", status_code=303)


# --------------------------------------------------------------------------- one article: view, steps, history


async def _article_page(
    page: Page,
    article_id: str,
    *,
    status: int = 200,
    refusal: StepRefused | None = None,
    done: str = "",
    notes: str = "",
    template: str = "knowledge/article.html",
) -> Response:
    try:
        found = await knowledge.article(console(page.request).apis, page.token, article_id)
    except ApiFailure as failure:
        return _failure_page(page, failure)
    shown = found["current"]
    return page.render(
        template,
        status=status,
        a=found,
        v=shown,
        body_html=render_markdown(shown["body"]),
        refusal=refusal,
        done=done,
        notes=notes,
        **_labels(),
    )


@router.get("/{article_id}")
async def view(page: SignedIn, article_id: str, done: str = "", fragment: str = "") -> Response:
    """The article (the version this person may see); `fragment`: only its text, to read beside the call."""
    template = "knowledge/_read.html" if fragment else "knowledge/article.html"
    return await _article_page(page, article_id, done=done, template=template)


@router.post("/{article_id}/step")
async def step(
    page: SignedInPost, article_id: str, action: Annotated[str, Form()], notes: Annotated[str, Form()] = ""
) -> Response:
    """One step of the workflow; the service's 409 (not now) or 422 (notes missing) shown on the article."""
    done, refusal = await knowledge.take_step(console(page.request).apis, page.token, article_id, action, notes)
    if refusal is not None:
        return await _article_page(page, article_id, status=refusal.status, refusal=refusal, notes=notes)
    assert done is not None
    if action == "new_version":
        return RedirectResponse(f"/knowledge/{article_id}/edit", status_code=303)
    return RedirectResponse(f"/knowledge/{article_id}?done={action}", status_code=303)


@router.get("/{article_id}/history")
async def history(page: SignedIn, article_id: str, old: int | None = None, new: int | None = None) -> Response:
    try:
        found = await knowledge.article(console(page.request).apis, page.token, article_id)
        shown = await knowledge.history(console(page.request).apis, page.token, article_id, old, new)
    except ApiFailure as failure:
        return _failure_page(page, failure)
    return page.render("knowledge/history.html", a=found, h=shown, **_labels())


@router.post("/{article_id}/feedback")
async def feedback(
    page: SignedInPost, article_id: str, ticket_id: Annotated[str, Form()], helpful: Annotated[str, Form()]
) -> Response:
    """htmx: helpful or not, on the ticket the article answered (a second verdict replaces the first)."""
    verdict = helpful == "yes"
    try:
        await knowledge.give_feedback(console(page.request).apis, page.token, article_id, ticket_id, verdict)
    except ApiFailure as failure:
        return page.render(
            "knowledge/_feedback.html",
            status=failure.status,
            article_id=article_id,
            ticket_id=ticket_id,
            error=failure.message,
            given=None,
        )
    return page.render("knowledge/_feedback.html", article_id=article_id, ticket_id=ticket_id, error="", given=verdict)
