"""The assessment API: every unit's score with its components, from the figures of the same period."""

from __future__ import annotations

import httpx

from services.reporting.worker import ReportingEventsHandler
from tests.unit.reporting.conftest import AGENT, CENTER, DIVISION
from tests.unit.reporting.traffic import traffic

WEEK = {"branch": "demo", "period": "week", "period_start": "2026-11-30"}


async def test_each_unit_scores_from_its_own_figures_and_shows_every_component(
    client: httpx.AsyncClient, consume: ReportingEventsHandler
) -> None:
    await consume(traffic(seed=11, tickets=40))
    answer = await client.get("/api/v1/assessments", params=WEEK, headers=CENTER)
    assert answer.status_code == 200, answer.text
    rows = answer.json()["rows"]
    figures = await client.get(
        "/api/v1/figures",
        params={"branch": "demo", "group_by": "unit", "since": "2026-11-30", "until": "2026-12-06"},
        headers=CENTER,
    )
    by_unit = {r["key"]: r for r in figures.json()["rows"]}
    assert {r["key"] for r in rows} == set(by_unit)
    totals = [r["total"] for r in rows if r["total"] is not None]
    assert totals == sorted(totals, reverse=True)
    for row in rows:
        parts = {c["component"]: c for c in row["components"]}
        assert list(parts) == ["on_time", "satisfaction", "complaints", "returns", "reopenings"]
        assert [c["weight"] for c in row["components"]] == [40, 25, 15, 10, 10]  # the demo branch's defaults
        assert abs(row["total"] - sum(c["points"] for c in row["components"])) < 0.05
        figure = by_unit[row["key"]]
        assert parts["satisfaction"]["figure"] == figure["satisfaction_average"]
        assert parts["reopenings"]["figure"] == figure["reopen_rate"]
        if figure["dispatched"]:
            assert parts["returns"]["figure"] == figure["returns"] / figure["dispatched"]


async def test_assessment_scope_and_bad_periods(client: httpx.AsyncClient, consume: ReportingEventsHandler) -> None:
    await consume(traffic(seed=12, tickets=20))
    mine = await client.get("/api/v1/assessments", params=WEEK, headers=DIVISION)
    assert mine.status_code == 200 and mine.json()["rows"] == []  # D-1 has no unit in this traffic
    assert (await client.get("/api/v1/assessments", params=WEEK, headers=AGENT)).status_code == 403
    tuesday = await client.get("/api/v1/assessments", params={**WEEK, "period_start": "2026-12-01"}, headers=CENTER)
    assert tuesday.status_code == 422
    divisions = await client.get("/api/v1/assessments", params={**WEEK, "level": "division"}, headers=CENTER)
    assert {r["key"] for r in divisions.json()["rows"]} <= {"D-EAST", "D-WEST", "(center queue)"}
