"""Issue 18, supervision pages: bulletins (publish, history, PDF and Excel), figures, assessment, the wallboard."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse, RedirectResponse, Response

from services.console.api.deps import Page, SignedIn, SignedInPost, console
from services.console.api.downloads import passed_on
from services.console.clients import ApiFailure
from services.console.handlers import reporting

router = APIRouter(prefix="/reporting")

BulletinId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
Kind = Annotated[str, Path(pattern=r"^(pdf|xlsx)$")]
# publishing lays out the PDF and the workbook (a month of 100,000 tickets: ~11 s, bench/reporting.py); a
# publish cut short is harmless: sent again, it finds the one published (one per period)
PUBLISH_SECONDS = 180.0


def _supervisors_only(page: Page) -> Response | None:
    if page.user.role not in reporting.SUPERVISORS:
        message = page.language.gettext("This page is for the center's and the divisions' supervisors")
        return page.render("error.html", status=403, message=message)
    return None


async def _bulletins_page(
    page: Page, status: int = 200, form: dict[str, str] | None = None, errors: dict[str, str] | None = None
) -> Response:
    app = console(page.request)
    try:
        items = await reporting.bulletins(app.apis, page.token, page.user.branch)
    except ApiFailure as failure:
        return page.render("error.html", status=failure.status, message=failure.message)
    return page.render(
        "reporting/bulletins.html",
        status=status,
        bulletins=items,
        form=form or {"period": "month", "scope": "branch"},
        errors=errors or {},
        published=page.request.query_params.get("published", ""),
        may_publish=page.user.role == "center_supervisor",
    )


@router.get("/bulletins")
async def bulletins(page: SignedIn) -> Response:
    refused = _supervisors_only(page)
    return refused or await _bulletins_page(page)


@router.post("/bulletins")
async def publish(page: SignedInPost) -> Response:
    """The center publishes a finished week's or month's bulletin; each refusal is shown beside its field."""
    refused = _supervisors_only(page)
    if refused is not None:
        return refused
    form = {k: v.strip() for k, v in (await page.request.form()).items() if isinstance(v, str) and k != "csrf_token"}
    body = reporting.publish_body(form, page.user.branch)
    try:
        made = await console(page.request).apis.call(
            "reporting", "POST", "/api/v1/bulletins", page.token, json=body, wait_seconds=PUBLISH_SECONDS
        )
    except ApiFailure as failure:
        return await _bulletins_page(page, status=failure.status, form=form, errors=reporting.field_errors(failure))
    return RedirectResponse(f"/reporting/bulletins?published={made['bulletin_id']}", status_code=303)


@router.get("/bulletins/{bulletin_id}/{kind}")
async def download(page: SignedIn, bulletin_id: BulletinId, kind: Kind) -> Response:
    """The file through the console, read with the person's own token (reporting checks the scope)."""
    path = f"/api/v1/bulletins/{bulletin_id}/{kind}"
    return await passed_on(page, "reporting", path, f"{bulletin_id}.{kind}")


@router.get("/figures")
async def figures(page: SignedIn) -> Response:
    refused = _supervisors_only(page)
    if refused is not None:
        return refused
    app = console(page.request)
    today = app.clock.now().astimezone(app.zone).date()
    chosen = reporting.FigureFilter.parse(page.request.query_params, today)
    rows: list[dict[str, object]] = []
    status = 200
    if not chosen.errors:
        try:
            rows = await reporting.figures(app.apis, page.token, chosen.params(page.user.branch))
        except ApiFailure as failure:
            chosen.errors["form"], status = failure.message, failure.status
    return page.render(
        "reporting/figures.html",
        status=422 if chosen.errors and status == 200 else status,
        f=chosen,
        rows=rows,
        groups=reporting.GROUPS,
        periods=reporting.PERIODS,
        clocks=reporting.CLOCKS,
        csv_query=page.request.url.query,
    )


@router.get("/figures.csv")
async def figures_csv(page: SignedIn) -> Response:
    app = console(page.request)
    today = app.clock.now().astimezone(app.zone).date()
    chosen = reporting.FigureFilter.parse(page.request.query_params, today)
    refused = _supervisors_only(page)
    if refused is not None:
        return refused
    params = urlencode({k: v for k, v in chosen.params(page.user.branch).items() if v} | {"format": "csv"})
    return await passed_on(page, "reporting", f"/api/v1/figures?{params}", "figures.csv")


@router.get("/assessment")
async def assessment(page: SignedIn) -> Response:
    """Each unit's (or division's) score for a finished month or week, every component with its figure."""
    refused = _supervisors_only(page)
    if refused is not None:
        return refused
    app = console(page.request)
    today = app.clock.now().astimezone(app.zone).date()
    chosen = reporting.AssessmentFilter.parse(page.request.query_params, today)
    rows: list[dict[str, object]] = []
    status = 422 if chosen.errors else 200
    if not chosen.errors:
        try:
            rows = await reporting.assessment_rows(app.apis, page.token, chosen.params(page.user.branch))
        except ApiFailure as failure:
            chosen.errors.update(reporting.assessment_errors(failure))
            status = failure.status
    return page.render(
        "reporting/assessment.html",
        status=status,
        f=chosen,
        rows=rows,
        levels=reporting.ASSESSMENT_LEVELS,
        periods=reporting.ASSESSMENT_PERIODS,
        figure=reporting.component_figure,
    )


@router.get("/wallboard")
async def wallboard(page: SignedIn) -> Response:
    refused = _supervisors_only(page)
    return refused or page.render("reporting/wallboard.html", clocks=reporting.CLOCKS)


@router.get("/wallboard/data")
async def wallboard_data(page: SignedIn) -> Response:
    """The board's figures now (JSON for its charts); reloaded by the page when the stream says something changed."""
    refused = _supervisors_only(page)
    if refused is not None:
        return JSONResponse({"error": "forbidden"}, status_code=403)
    app = console(page.request)
    now = app.clock.now().astimezone(app.zone)
    try:
        data = await reporting.wallboard(app.apis, page.token, page.user.branch, now.date(), now)
    except ApiFailure as failure:
        return JSONResponse({"error": failure.message}, status_code=failure.status)
    return JSONResponse(data, headers={"Cache-Control": "no-store"})
