"""Issue 18: the branch's survey questions answered at callbacks, in the figures (by unit) and the bulletin."""

from __future__ import annotations

import io
from datetime import timedelta

import httpx
from openpyxl import load_workbook
from pypdf import PdfReader

from services.reporting.worker import ReportingEventsHandler
from shared.clock import FixedClock
from shared.events import CallbackCompleted, Event, Payload, TicketClosed
from shared.policy.categories import Category
from shared.policy.limits import CallbackKind
from tests.unit.reporting.conftest import CENTER
from tests.unit.simulate.test_report import DIVISION, Story

WEEK = {"branch": "demo", "period": "week", "period_start": "2026-11-30"}


def surveyed(n: int, unit: str, answers: dict[str, int], category: Category = Category.REPAIR) -> list[Event[Payload]]:
    s = Story(f"S-{n:03d}", category).dispatch(unit).contact(unit).reply(unit).approve_and_schedule(unit)
    s.attempt("reached").add(
        CallbackCompleted(
            callback_id="cb",
            kind=CallbackKind.SURVEY,
            agent_id="a",
            unit_id=unit,
            division_id=DIVISION[unit],
            category=category,
            problem_solved=True,
            satisfaction=4,
            answers=answers,
        )
    )
    return s.add(TicketClosed(reason="callback_completed")).events


async def test_answers_are_averaged_per_unit_and_question_and_shown_in_the_bulletin(
    client: httpx.AsyncClient, consume: ReportingEventsHandler, clock: FixedClock
) -> None:
    await consume(surveyed(1, "U-QINGXIU", {"attitude": 5, "on_time_visit": 1}))
    await consume(surveyed(2, "U-QINGXIU", {"attitude": 2, "on_time_visit": 0}))
    await consume(surveyed(3, "U-QINGXIU", {"attitude": 4}))  # the customer would not say about the visit
    await consume(surveyed(4, "U-XINGNING", {"attitude": 3}, Category.ALARM))
    await consume(surveyed(5, "U-XINGNING", {}))  # an old event, without answers: still a survey
    params = {"branch": "demo", "group_by": "unit"}
    rows = {r["key"]: r for r in (await client.get("/api/v1/figures", params=params, headers=CENTER)).json()["rows"]}
    assert rows["U-QINGXIU"]["survey_questions"] == {
        "attitude": {"answers": 3, "average": round(11 / 3, 4)},
        "on_time_visit": {"answers": 2, "average": 0.5},  # the share of yes
    }
    assert rows["U-XINGNING"]["survey_questions"] == {"attitude": {"answers": 1, "average": 3.0}}
    assert rows["U-XINGNING"]["surveys"] == 2
    csv = (await client.get("/api/v1/figures", params={**params, "format": "csv"}, headers=CENTER)).text
    header = csv.splitlines()[0]
    assert "survey_attitude_average" in header.split(",") and "survey_on_time_visit_answers" in header.split(",")

    clock.advance(timedelta(days=10))
    bulletin = (await client.post("/api/v1/bulletins", json=WEEK, headers=CENTER)).json()
    book = load_workbook(io.BytesIO((await client.get(bulletin["xlsx_url"], headers=CENTER)).content))
    sheet = list(book["满意度调查"].iter_rows(values_only=True))
    assert sheet[1:] == [
        ("您对处理人员的服务态度满意吗？（1-5分）", 4, 3.5),
        ("维修人员是否按约定时间上门？", 2, 0.5),
    ]
    pdf = (await client.get(bulletin["pdf_url"], headers=CENTER)).content
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "五、满意度调查" in text and "维修人员是否按约定时间上门" in text
