"""The figures (RULES.md §7) against hand-computed traffic and against the simulator's report on the same events."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hotline.simulate.report import build_report
from services.reporting.worker import ReportingEventsHandler
from shared.events import TicketResolvedOnFirstContact, TicketReturned
from shared.policy.limits import SlaClock
from tests.unit.reporting.conftest import CENTER, DIVISION, OTHER_DIVISION, UNIT
from tests.unit.reporting.traffic import traffic
from tests.unit.simulate.test_report import Story

ACTIVITY = {
    "dispatched": "dispatched",
    "warnings": "warnings",
    "breaches": "breaches",
    "escalations_division": "escalations_division",
    "escalations_center": "escalations_center",
    "returns": "returns",
    "returns_refused": "returns_refused",
    "extensions_requested": "extensions_requested",
    "extensions_granted": "extensions_granted",
    "extensions_denied": "extensions_denied",
    "callbacks_completed": "callbacks_completed",
    "callbacks_abandoned": "callbacks_abandoned",
    "reopened": "reopened",
    "surveys": "surveys",
}


async def figures(client: httpx.AsyncClient, who: dict[str, str] = CENTER, **params: str) -> list[dict[str, Any]]:
    answer = await client.get("/api/v1/figures", params={"branch": "demo", **params}, headers=who)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["rows"])


async def test_figures_match_the_simulators_report_on_the_same_traffic(
    client: httpx.AsyncClient, consume: ReportingEventsHandler
) -> None:
    events = traffic(seed=18, tickets=120)
    for start in range(0, len(events), 97):  # batches as the consumer gets them
        await consume(events[start : start + 97])
    report = build_report(events)
    for level, group in (("unit", "unit"), ("division", "division"), ("branch", "branch")):
        rows = {r["key"]: r for r in await figures(client, group_by=group)}
        simulated_clocks = {
            (r.org_id, r.clock): (r.met, r.breached, r.running)
            for r in report.clock_rows
            if r.level == level and (r.met, r.breached, r.running) != (0, 0, 0)
        }
        ours = {
            (key, clock): (c["met"], c["breached"], c["running"])
            for key, row in rows.items()
            for clock, c in row["on_time"].items()
        }
        assert ours == simulated_clocks, level
        for org in (r for r in report.org_rows if r.level == level):
            mine = rows.get(org.org_id)
            expected = {ours_name: org.counts[theirs] for ours_name, theirs in ACTIVITY.items()}
            if mine is None:
                assert not any(expected.values()), (level, org.org_id)
                continue
            assert {k: mine[k] for k in ACTIVITY} == expected, (level, org.org_id)
            assert mine["satisfaction_average"] == org.average_satisfaction, (level, org.org_id)
            assert mine["solved_rate"] == org.solved_rate, (level, org.org_id)
    branch = (await figures(client, group_by="branch"))[0]
    assert branch["received"] == report.received
    assert branch["first_contact_resolved"] == report.closed_on_call
    assert branch["complaints_by_level"] == {str(k): report.complaint_levels.get(k, 0) for k in (1, 2, 3)}
    assert branch["callback_attempts"] == sum(report.attempts.values())


async def test_hand_computed_traffic(client: httpx.AsyncClient, consume: ReportingEventsHandler) -> None:
    # t1: on time everywhere, satisfied (5), solved; t2: breached its resolve clock, rated 2, not solved;
    # t3: closed on the call; t4: returned by U-QINGXIU, done by U-XINGNING, rated 4
    t1 = Story("t1").dispatch("U-QINGXIU").contact("U-QINGXIU").reply("U-QINGXIU")
    t1.approve_and_schedule("U-QINGXIU").attempt("reached").complete("U-QINGXIU", satisfaction=5)
    t2 = Story("t2").dispatch("U-QINGXIU").contact("U-QINGXIU").breach(SlaClock.RESOLVE, "U-QINGXIU")
    t2.reply("U-QINGXIU").approve_and_schedule("U-QINGXIU").attempt("reached")
    t2.complete("U-QINGXIU", satisfaction=2, solved=False)
    t3 = Story("t3")
    t3.add(TicketResolvedOnFirstContact(agent_id="a", answer="told"))
    t4 = Story("t4").dispatch("U-QINGXIU")
    t4.add(TicketReturned(unit_id="U-QINGXIU", handler_id="h", reason="outside_duties"))
    t4.dispatch("U-XINGNING", count=2).contact("U-XINGNING").reply("U-XINGNING")
    t4.approve_and_schedule("U-XINGNING").attempt("reached").complete("U-XINGNING", satisfaction=4)
    await consume(sorted([*t1.events, *t2.events, *t3.events, *t4.events], key=lambda e: e.occurred_at))

    (branch,) = await figures(client, group_by="branch")
    assert branch["received"] == 4
    assert branch["first_contact_rate"] == 0.25  # 1 of 4
    assert branch["on_time"]["resolve"] == {"met": 2, "breached": 1, "running": 0, "rate": 0.6667}
    assert branch["on_time"]["contact"] == {"met": 3, "breached": 0, "running": 0, "rate": 1.0}
    assert branch["on_time"]["dispatch"]["met"] == 3  # t3 owed none
    assert branch["breaches"] == 1 and branch["escalations_division"] == 1
    assert branch["surveys"] == 3
    assert branch["satisfaction_average"] == round((5 + 2 + 4) / 3, 2)
    assert branch["satisfied_rate"] == 0.6667  # 5 and 4
    assert branch["solved_rate"] == 0.6667
    units = {r["key"]: r for r in await figures(client, group_by="unit")}
    assert units["U-QINGXIU"]["returns"] == 1  # against the unit that returned it
    assert units["U-XINGNING"]["returns"] == 0
    assert units["U-QINGXIU"]["on_time"]["resolve"] == {"met": 1, "breached": 1, "running": 0, "rate": 0.5}
    assert units["U-XINGNING"]["on_time"]["resolve"]["rate"] == 1.0
    channels = {r["key"]: r["received"] for r in await figures(client, group_by="channel")}
    assert channels == {"phone": 4}
    by_day = await figures(client, group_by="branch", period="day")
    assert [(r["period"], r["received"]) for r in by_day] == [("2026-11-30", 4)]


async def test_a_division_sees_only_its_own_units_and_the_csv_has_the_same_rows(
    client: httpx.AsyncClient, consume: ReportingEventsHandler
) -> None:
    await consume(traffic(seed=3, tickets=40))
    # D-1 is the tokens' division; the traffic's units are in D-EAST and D-WEST: nothing of theirs
    assert await figures(client, who=DIVISION, group_by="unit") == []
    east = await figures(client, group_by="unit", division="D-EAST")
    assert {r["key"] for r in east} <= {"U-QINGXIU", "U-XINGNING"}
    refused = await client.get(
        "/api/v1/figures", params={"branch": "demo", "division": "D-EAST"}, headers=OTHER_DIVISION
    )
    assert refused.status_code == 403
    assert (await client.get("/api/v1/figures", params={"branch": "demo"}, headers=UNIT)).status_code == 403
    csv_answer = await client.get(
        "/api/v1/figures",
        params={"branch": "demo", "group_by": "unit", "division": "D-EAST", "format": "csv"},
        headers=CENTER,
    )
    assert csv_answer.status_code == 200
    assert csv_answer.headers["content-type"].startswith("text/csv")
    lines = csv_answer.text.strip().splitlines()
    assert lines[0].startswith("period,key,received,")
    assert len(lines) == 1 + len(east)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"group_by": "street"}, "query.group_by"),
        ({"period": "year"}, "query.period"),
        ({"since": "2026-13-01"}, "query.since"),
        ({"format": "pdf"}, "query.format"),
    ],
)
async def test_bad_figure_queries_get_field_errors(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    answer = await client.get("/api/v1/figures", params={"branch": "demo", **params}, headers=CENTER)
    assert answer.status_code == 422
    assert field in [f["field"] for f in answer.json()["error"]["fields"]]


async def test_an_until_before_since_is_refused(client: httpx.AsyncClient) -> None:
    answer = await client.get(
        "/api/v1/figures", params={"branch": "demo", "since": "2026-11-30", "until": "2026-11-01"}, headers=CENTER
    )
    assert answer.status_code == 422
    assert [f["field"] for f in answer.json()["error"]["fields"]] == ["query.until"]
