"""Bulletins: publish a finished week's or month's (center), list their history, download PDF and Excel."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request
from fastapi.responses import Response

from services.reporting.api.common import Center, Supervisor, committed
from services.reporting.handlers.bulletins import (
    BulletinRequest,
    bulletin_file,
    bulletin_history,
    publish,
    survey_of,
)
from services.reporting.schemas import BulletinCreate, BulletinList, BulletinPublic
from services.reporting.store import Outbox
from services.reporting.store.bulletins import Bulletin
from shared.auth import SecureRouter
from shared.http.deps import Session
from shared.http.responses import download
from shared.outbox import stage
from shared.zones import branch_zone

BulletinId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
MEDIA = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _out(b: Bulletin) -> BulletinPublic:
    base = f"/api/v1/bulletins/{b.bulletin_id}"
    return BulletinPublic(
        bulletin_id=b.bulletin_id,
        branch=b.branch,
        scope=b.scope,
        division_id=b.division_id,
        period=b.period,
        period_start=b.period_start,
        period_end=b.period_end,
        title=b.title,
        published_by=b.published_by,
        published_at=b.published_at,
        tickets=b.tickets,
        pdf_url=f"{base}/pdf",
        xlsx_url=f"{base}/xlsx",
    )


def router() -> SecureRouter:
    r = SecureRouter(prefix="/api/v1", tags=["bulletins"])

    @r.post("/bulletins", response_model=BulletinPublic, status_code=201, responses={200: {"model": BulletinPublic}})
    async def publish_bulletin(
        body: BulletinCreate, request: Request, session: Session, principal: Center, response: Response
    ) -> BulletinPublic:
        """The period's bulletin: 201 when published now, 200 with the one already published for that period."""
        state = request.app.state
        ask = BulletinRequest(body.branch, body.period, body.period_start, body.scope, body.division_id)
        async with session.begin():
            survey = survey_of(state.branches, body.branch)
            bulletin, events = await publish(session, principal, ask, state.clock, branch_zone(body.branch), survey)
            stage(session, Outbox, events, state.clock)
        if events:
            committed(request)
        else:
            response.status_code = 200
        return _out(bulletin)

    @r.get("/bulletins", response_model=BulletinList)
    async def list_bulletins(
        request: Request,
        session: Session,
        principal: Supervisor,
        branch: Annotated[str, Query(min_length=1, max_length=64)],
    ) -> BulletinList:
        """The bulletins published, newest period first (a division sees its own and the branch's)."""
        found = await bulletin_history(session, principal, branch)
        return BulletinList(branch=branch, bulletins=[_out(b) for b in found])

    @r.get(
        "/bulletins/{bulletin_id}/{kind}",
        response_class=Response,
        responses={200: {"content": {media: {} for media in MEDIA.values()}}},
    )
    async def download_bulletin(
        request: Request,
        session: Session,
        principal: Supervisor,
        bulletin_id: BulletinId,
        kind: Annotated[str, Path(pattern=r"^(pdf|xlsx)$")],
    ) -> Response:
        """The bulletin's PDF or Excel file."""
        bulletin = await bulletin_file(session, principal, bulletin_id)
        data = bulletin.pdf if kind == "pdf" else bulletin.xlsx
        filename = f"{bulletin.bulletin_id}.{kind}"
        return download(data, MEDIA[kind], filename)

    return r
