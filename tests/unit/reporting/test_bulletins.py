"""Bulletins (通报): published once per period, PDF text and Excel cells checked, on demand and on schedule."""

from __future__ import annotations

import io
from datetime import timedelta

import httpx
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from services.reporting.bootstrap import ReportingService, build_schedule
from services.reporting.store import Outbox
from services.reporting.worker import BulletinSchedule, ReportingEventsHandler
from shared.clock import FixedClock
from shared.events import BulletinPublished, decode
from tests.unit.reporting.conftest import AGENT, CENTER, DIVISION
from tests.unit.reporting.traffic import traffic

WEEK = {"branch": "demo", "period": "week", "period_start": "2026-11-30"}  # the traffic's Monday


async def published_events(service: ReportingService) -> list[BulletinPublished]:
    async with service.sessions() as session:
        values = (await session.scalars(select(Outbox.value).order_by(Outbox.id))).all()
    return [p for p in (decode(v).payload for v in values) if isinstance(p, BulletinPublished)]


async def test_a_weeks_bulletin_is_published_once_with_its_pdf_and_excel(
    client: httpx.AsyncClient, service: ReportingService, consume: ReportingEventsHandler, clock: FixedClock
) -> None:
    await consume(traffic(seed=5, tickets=40))  # received 2026-11-30 09:00 onwards, one an hour
    early = await client.post("/api/v1/bulletins", json=WEEK, headers=CENTER)
    assert early.status_code == 422  # the week is not over on 2026-11-27
    assert [f["field"] for f in early.json()["error"]["fields"]] == ["body.period_start"]
    clock.advance(timedelta(days=10))  # 2026-12-07: the week of 11-30 is over
    first = await client.post("/api/v1/bulletins", json=WEEK, headers=CENTER)
    assert first.status_code == 201, first.text
    bulletin = first.json()
    assert bulletin["tickets"] == 40
    assert bulletin["period_end"] == "2026-12-06"
    again = await client.post("/api/v1/bulletins", json=WEEK, headers=CENTER)
    assert again.status_code == 200
    assert again.json()["bulletin_id"] == bulletin["bulletin_id"]
    assert [e.bulletin_id for e in await published_events(service)] == [bulletin["bulletin_id"]]

    figures = await client.get(
        "/api/v1/figures",
        params={"branch": "demo", "group_by": "unit", "since": "2026-11-30", "until": "2026-12-06"},
        headers=CENTER,
    )
    units = {r["key"]: r for r in figures.json()["rows"]}

    pdf = await client.get(bulletin["pdf_url"], headers=CENTER)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "2026年第49周" in text and "客服热线服务通报" in text
    assert "单位排名" in text and "超时最严重的工单" in text and "重点投诉" in text
    assert all(unit in text for unit in units if unit != "(center queue)")

    xlsx = await client.get(bulletin["xlsx_url"], headers=CENTER)
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["总体情况", "单位排名", "超时工单", "重点投诉", "满意度调查"]
    summary = {row[0]: row[1] for row in book["总体情况"].iter_rows(min_row=3, values_only=True)}
    assert summary["受理量"] == 40
    ranking = list(book["单位排名"].iter_rows(values_only=True))
    assert ranking[0][:4] == ("排名", "单位", "受理量", "按时率")
    assert [row[0] for row in ranking[1:]] == list(range(1, len(ranking)))
    for row in ranking[1:]:
        assert row[4] == units[row[1]]["breaches"]  # the sheet's breaches are the figures'
    rates = [row[3] for row in ranking[1:] if row[3] is not None]
    assert rates == sorted(rates, reverse=True)  # ranked by on-time rate
    breaches = list(book["超时工单"].iter_rows(min_row=2, values_only=True))
    assert len(breaches) == min(10, sum(u["breaches"] for u in units.values()))


async def test_bad_bulletin_requests(client: httpx.AsyncClient, clock: FixedClock) -> None:
    clock.advance(timedelta(days=60))
    tuesday = await client.post("/api/v1/bulletins", json={**WEEK, "period_start": "2026-12-01"}, headers=CENTER)
    assert tuesday.status_code == 422
    month = await client.post(
        "/api/v1/bulletins", json={"branch": "demo", "period": "month", "period_start": "2026-11-02"}, headers=CENTER
    )
    assert month.status_code == 422
    no_division = await client.post("/api/v1/bulletins", json={**WEEK, "scope": "division"}, headers=CENTER)
    assert [f["field"] for f in no_division.json()["error"]["fields"]] == ["body.division_id"]
    assert (await client.post("/api/v1/bulletins", json=WEEK, headers=AGENT)).status_code == 403
    assert (await client.post("/api/v1/bulletins", json=WEEK, headers=DIVISION)).status_code == 403
    other = await client.post("/api/v1/bulletins", json={**WEEK, "branch": "default"}, headers=CENTER)
    assert other.status_code == 403


async def test_the_schedule_publishes_each_finished_week_and_month_once_per_branch_and_division(
    client: httpx.AsyncClient, service: ReportingService, consume: ReportingEventsHandler, clock: FixedClock
) -> None:
    await consume(traffic(seed=9, tickets=30))
    clock.advance(timedelta(days=5))  # 2026-12-02: last week (11-23) and last month (November) are over
    schedule = build_schedule(service, None)
    made = await schedule.publish_due()
    assert made == 2 * 3  # week and month, for the branch and its two divisions (D-EAST, D-WEST)
    assert await schedule.publish_due() == 0
    listed = (await client.get("/api/v1/bulletins", params={"branch": "demo"}, headers=CENTER)).json()["bulletins"]
    assert {(b["scope"], b["division_id"], b["period"], b["period_start"]) for b in listed} == {
        (scope, division, period, start)
        for scope, division in (("branch", None), ("division", "D-EAST"), ("division", "D-WEST"))
        for period, start in (("week", "2026-11-23"), ("month", "2026-11-01"))
    }
    assert all(b["published_by"] == "schedule" for b in listed)
    # a division supervisor (of D-1 here) sees the branch's bulletins, not another division's
    mine = (await client.get("/api/v1/bulletins", params={"branch": "demo"}, headers=DIVISION)).json()["bulletins"]
    assert {b["scope"] for b in mine} == {"branch"}
    east = next(b for b in listed if b["division_id"] == "D-EAST")
    assert (await client.get(east["pdf_url"], headers=DIVISION)).status_code == 404
    assert (await client.get(east["pdf_url"], headers=CENTER)).status_code == 200


async def test_a_period_without_tickets_gets_its_empty_bulletin_on_schedule(
    client: httpx.AsyncClient, service: ReportingService, clock: FixedClock
) -> None:
    """A branch's first weeks (or a quiet one): the schedule publishes a bulletin that says so, not an error."""
    clock.advance(timedelta(days=5))  # 2026-12-02: the week of 11-23 and November are over, nothing was received
    schedule = BulletinSchedule(service.sessions, service.clock, None, 3600.0, branch="demo")
    assert await schedule.publish_due() == 2
    assert await schedule.publish_due() == 0
    listed = (await client.get("/api/v1/bulletins", params={"branch": "demo"}, headers=CENTER)).json()["bulletins"]
    assert {(b["period"], b["period_start"], b["tickets"]) for b in listed} == {
        ("week", "2026-11-23", 0),
        ("month", "2026-11-01", 0),
    }
    month = next(b for b in listed if b["period"] == "month")
    pdf = await client.get(month["pdf_url"], headers=CENTER)
    assert pdf.status_code == 200
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "2026年11月" in text and "本期未受理工单" in text
    book = load_workbook(io.BytesIO((await client.get(month["xlsx_url"], headers=CENTER)).content))
    summary = {row[0]: row[1] for row in book["总体情况"].iter_rows(min_row=3, values_only=True)}
    assert summary["受理量"] == 0 and summary["总按时率"] is None and summary["满意度均分"] is None
    assert list(book["单位排名"].iter_rows(min_row=2, values_only=True)) == []
    assert len(await published_events(service)) == 2
