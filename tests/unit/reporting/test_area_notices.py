"""Area notices: planned interruptions registered by the center, hot spots from clustering calls (RULES.md §7)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from services.reporting.bootstrap import ReportingService
from services.reporting.store import Outbox
from services.reporting.worker import ReportingEventsHandler
from shared.clock import FixedClock
from shared.events import HotSpotDetected, decode
from shared.policy.categories import Category
from tests.unit.reporting.conftest import (
    AGENT,
    CENTER,
    DIVISION,
    NOW,
    OTHER_BRANCH_CENTER,
    UNIT,
    received,
)


def interruption(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "branch": "demo",
        "district": "青秀区",
        "community": "凤岭小区",
        "starts_at": (NOW - timedelta(hours=1)).isoformat(),
        "ends_at": (NOW + timedelta(hours=5)).isoformat(),
        "message": "凤岭小区管道改造，12月1日8:00至18:00停气",
    }
    body.update(overrides)
    return body


async def notices(client: httpx.AsyncClient, community: str | None = "凤岭小区", **params: str) -> list[dict[str, Any]]:
    query = {"branch": "demo", "district": "青秀区", **params}
    if community is not None:
        query["community"] = community
    answer = await client.get("/api/v1/area-notices", params=query, headers=AGENT)
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == {"branch", "notices"}
    return list(answer.json()["notices"])


async def test_a_registered_interruption_shows_to_agents_of_that_area_while_it_lasts(
    client: httpx.AsyncClient, clock: FixedClock
) -> None:
    created = await client.post("/api/v1/planned-interruptions", json=interruption(), headers=CENTER)
    assert created.status_code == 201, created.text
    notice_id = created.json()["notice_id"]
    shown = await notices(client)
    assert shown == [
        {
            "notice_id": notice_id,
            "kind": "planned_interruption",
            "district": "青秀区",
            "community": "凤岭小区",
            "category": None,
            "message": "凤岭小区管道改造，12月1日8:00至18:00停气",
            "starts_at": "2026-11-27T09:00:00+08:00",  # on the branch's wall clock
            "ends_at": "2026-11-27T15:00:00+08:00",
            "count": None,
        }
    ]
    assert await notices(client, community=None) == shown  # the district's agent sees it too
    assert await notices(client, community="南湖小区") == []  # another community of the district does not
    assert await notices(client, district="西乡塘区") == []
    clock.advance(timedelta(hours=5))
    assert await notices(client) == []  # over


async def test_a_district_wide_interruption_shows_for_every_community(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/v1/planned-interruptions", json=interruption(community=None), headers=CENTER)
    assert created.status_code == 201
    assert [n["community"] for n in await notices(client, community="南湖小区")] == [None]


async def test_a_future_interruption_does_not_show_yet(client: httpx.AsyncClient, clock: FixedClock) -> None:
    later = interruption(starts_at=(NOW + timedelta(hours=2)).isoformat())
    assert (await client.post("/api/v1/planned-interruptions", json=later, headers=CENTER)).status_code == 201
    assert await notices(client) == []
    clock.advance(timedelta(hours=2))
    assert len(await notices(client)) == 1


async def test_bad_interruptions_get_field_errors_and_nothing_is_written(client: httpx.AsyncClient) -> None:
    cases = [
        (interruption(ends_at=(NOW - timedelta(hours=2)).isoformat()), "body.ends_at"),  # before the start
        (
            interruption(
                starts_at=(NOW - timedelta(hours=3)).isoformat(), ends_at=(NOW - timedelta(hours=1)).isoformat()
            ),
            "body.ends_at",
        ),  # already over
        (
            interruption(
                starts_at=(NOW + timedelta(days=200)).isoformat(), ends_at=(NOW + timedelta(days=201)).isoformat()
            ),
            "body.starts_at",
        ),
        (interruption(ends_at="2026-11-27T12:00:00"), "body.ends_at"),  # no offset
        (interruption(starts_at=1764205200), "body.starts_at"),  # seconds are not an instant
        (interruption(district="  "), "body.district"),
        (interruption(message="x"), "body.message"),
        (interruption(message="停气\x07"), "body.message"),
        (interruption(colour="red"), "body.colour"),
        ({k: v for k, v in interruption().items() if k != "district"}, "body.district"),
    ]
    for body, field in cases:
        answer = await client.post("/api/v1/planned-interruptions", json=body, headers=CENTER)
        assert answer.status_code == 422, (body, answer.text)
        assert field in [f["field"] for f in answer.json()["error"]["fields"]], (field, answer.text)
    assert await notices(client) == []


async def test_only_the_center_registers_and_only_in_its_branch(client: httpx.AsyncClient) -> None:
    for who in (AGENT, DIVISION, UNIT):
        answer = await client.post("/api/v1/planned-interruptions", json=interruption(), headers=who)
        assert answer.status_code == 403, answer.text
    other = await client.post("/api/v1/planned-interruptions", json=interruption(), headers=OTHER_BRANCH_CENTER)
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "out_of_scope"
    assert (await client.post("/api/v1/planned-interruptions", json=interruption())).status_code == 401


async def test_area_notices_are_for_call_takers_of_the_branch(client: httpx.AsyncClient) -> None:
    params = {"branch": "demo", "district": "青秀区"}
    assert (await client.get("/api/v1/area-notices", params=params, headers=CENTER)).status_code == 200
    assert (await client.get("/api/v1/area-notices", params=params, headers=UNIT)).status_code == 403
    wrong = await client.get("/api/v1/area-notices", params={**params, "branch": "default"}, headers=AGENT)
    assert wrong.status_code == 403
    missing = await client.get("/api/v1/area-notices", params={"branch": "demo"}, headers=AGENT)
    assert missing.status_code == 422
    assert "query.district" in [f["field"] for f in missing.json()["error"]["fields"]]


async def _hot_spot_events(service: ReportingService) -> list[HotSpotDetected]:
    async with service.sessions() as session:
        rows = (await session.scalars(select(Outbox.value).order_by(Outbox.id))).all()
    return [p for p in (decode(v).payload for v in rows) if isinstance(p, HotSpotDetected)]


async def test_five_repair_calls_from_one_community_in_two_hours_raise_one_hot_spot(
    client: httpx.AsyncClient, service: ReportingService, consume: ReportingEventsHandler, clock: FixedClock
) -> None:
    start = NOW - timedelta(minutes=90)
    calls = [received(f"T-{i}", start + timedelta(minutes=10 * i)) for i in range(4)]
    await consume(calls)
    assert await notices(client) == []  # four calls: not yet (the demo branch keeps the default 5)
    fifth = received("T-4", start + timedelta(minutes=45))
    await consume([fifth])
    shown = await notices(client)
    assert [(n["kind"], n["community"], n["category"], n["count"]) for n in shown] == [
        ("hot_spot", "凤岭小区", "repair", 5)
    ]
    assert shown[0]["message"] == "青秀区凤岭小区近2小时内故障报修来电集中（5起）"
    assert shown[0]["starts_at"] == "2026-11-27T08:30:00+08:00"  # the first call of the cluster
    assert shown[0]["ends_at"] == "2026-11-27T11:15:00+08:00"  # two hours past the last one
    events = await _hot_spot_events(service)
    assert [(e.district, e.community, e.count, e.threshold) for e in events] == [("青秀区", "凤岭小区", 5, 5)]
    # a sixth call goes into the same hot spot: no second event, the banner counts it and lasts longer
    await consume([received("T-5", start + timedelta(minutes=80))])
    assert [n["count"] for n in await notices(client)] == [6]
    assert len(await _hot_spot_events(service)) == 1
    # redelivered events change nothing (inbox on event_id)
    await consume([fifth, *calls])
    assert [n["count"] for n in await notices(client)] == [6]
    clock.advance(timedelta(minutes=109))  # 11:49: still within 2 h of the last call at 09:50
    assert len(await notices(client)) == 1
    clock.advance(timedelta(minutes=1))  # 11:50: a full window since the last call, gone
    assert await notices(client) == []


async def test_calls_spread_beyond_the_window_or_over_categories_raise_nothing(
    client: httpx.AsyncClient, service: ReportingService, consume: ReportingEventsHandler
) -> None:
    start = NOW - timedelta(hours=10)
    await consume([received(f"W-{i}", start + timedelta(minutes=40 * i)) for i in range(6)])  # 5 per 160 min
    categories = [Category.REPAIR, Category.COMPLAINT, Category.ALARM, Category.REPAIR]
    await consume([received(f"C-{i}", NOW - timedelta(minutes=5 + i), category=c) for i, c in enumerate(categories)])
    consultations = [received(f"Q-{i}", NOW - timedelta(minutes=i), category=Category.CONSULTATION) for i in range(9)]
    await consume(consultations)
    await consume([received(f"N-{i}", NOW - timedelta(minutes=i), district=None) for i in range(9)])
    assert await notices(client) == []
    assert await _hot_spot_events(service) == []


async def test_ten_calls_over_a_district_raise_a_district_hot_spot(
    client: httpx.AsyncClient, consume: ReportingEventsHandler
) -> None:
    communities = ["凤岭小区", "南湖小区", "东盟小区", "金湖小区", None]
    await consume(
        [received(f"D-{i}", NOW - timedelta(minutes=60 - i), community=communities[i % 5]) for i in range(10)]
    )
    shown = await notices(client, community="南湖小区")
    assert [(n["community"], n["count"]) for n in shown] == [(None, 10)]
    assert shown[0]["message"] == "青秀区近2小时内故障报修来电集中（10起）"


async def test_calls_arriving_out_of_order_still_make_one_hot_spot(
    client: httpx.AsyncClient, service: ReportingService, consume: ReportingEventsHandler
) -> None:
    # the ticket topic's partitions deliver the latest call first; the cluster is the same
    calls = [received(f"R-{i}", NOW - timedelta(minutes=50 - 10 * i)) for i in range(5)]
    for call in reversed(calls):
        await consume([call])
    shown = await notices(client)
    assert [(n["count"], n["starts_at"], n["ends_at"]) for n in shown] == [
        (5, "2026-11-27T09:10:00+08:00", "2026-11-27T11:50:00+08:00")
    ]
    assert len(await _hot_spot_events(service)) == 1
