"""Issue 21: the customers' own ratings on the self-service page (ServiceRated) count in the satisfaction figures
beside the callback survey's, each said apart, in the figures (by unit) and the bulletin."""

from __future__ import annotations

import io
from datetime import timedelta

import httpx
from openpyxl import load_workbook
from pypdf import PdfReader

from services.reporting.worker import ReportingEventsHandler
from shared.clock import FixedClock
from shared.events import ServiceRated, TicketClosed
from tests.unit.reporting.conftest import CENTER
from tests.unit.reporting.test_survey_figures import WEEK, surveyed
from tests.unit.simulate.test_report import Story


def closed_without_survey(n: int, unit: str, rating: int) -> Story:
    s = Story(f"R-{n:03d}").dispatch(unit).contact(unit).reply(unit).approve_and_schedule(unit)
    return s.add(TicketClosed(reason="callback_completed")).add(ServiceRated(rating=rating, comment="准时上门"))


async def test_self_service_ratings_count_beside_the_survey_and_apart_from_it(
    client: httpx.AsyncClient, consume: ReportingEventsHandler, clock: FixedClock
) -> None:
    both = surveyed(1, "U-QINGXIU", {})  # the callback's survey said 4 ...
    story = Story("S-001")
    both.append(story.add(ServiceRated(rating=2), minutes=60 * 24 * 2).events[-1])  # ... the customer later said 2
    await consume(both)
    await consume(closed_without_survey(2, "U-QINGXIU", 5).events)  # rated on the page only
    await consume(closed_without_survey(3, "U-XINGNING", 1).events)
    await consume(both[-1:])  # the same event again: counted once

    params = {"branch": "demo", "group_by": "unit"}
    rows = {r["key"]: r for r in (await client.get("/api/v1/figures", params=params, headers=CENTER)).json()["rows"]}
    qingxiu = rows["U-QINGXIU"]
    assert (qingxiu["surveys"], qingxiu["satisfaction_average"], qingxiu["satisfied_rate"]) == (1, 4.0, 1.0)
    assert (qingxiu["customer_ratings"], qingxiu["customer_rating_average"]) == (2, 3.5)
    assert qingxiu["customer_satisfied_rate"] == 0.5
    assert (qingxiu["all_ratings"], qingxiu["all_rating_average"]) == (3, round(11 / 3, 2))
    xingning = rows["U-XINGNING"]
    assert (xingning["surveys"], xingning["satisfaction_average"]) == (0, None)  # no survey: none invented
    assert (xingning["customer_ratings"], xingning["customer_rating_average"]) == (1, 1.0)
    csv_header = (await client.get("/api/v1/figures", params={**params, "format": "csv"}, headers=CENTER)).text
    assert {"customer_ratings", "customer_rating_average"} <= set(csv_header.splitlines()[0].split(","))

    clock.advance(timedelta(days=10))
    bulletin = (await client.post("/api/v1/bulletins", json=WEEK, headers=CENTER)).json()
    book = load_workbook(io.BytesIO((await client.get(bulletin["xlsx_url"], headers=CENTER)).content))
    summary = {row[0]: row[1] for row in book["总体情况"].iter_rows(min_row=3, values_only=True)}
    assert summary["满意度均分"] == 4.0  # the callback survey's, as before
    assert (summary["自助评价数"], summary["自助评价均分"]) == (3, round(8 / 3, 2))
    pdf = (await client.get(bulletin["pdf_url"], headers=CENTER)).content
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "自助评价均分" in text and "33.3%" in text  # one of the three page ratings was 4 or 5
