"""Hot-spot detection from received tickets (RULES.md §7): count in SQL, decide with shared.policy.hot_spots."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting import store
from services.reporting.store import AreaCall, HotSpot
from shared.events import Event, HotSpotDetected, TicketReceived, deterministic_event_id, new_event
from shared.policy.hot_spots import (
    Cluster,
    HotSpotArea,
    HotSpotRules,
    active_until,
    cluster_around,
    hot_spots_for,
    neighbourhood,
    notice_message,
)

PRODUCER = "reporting"


def _place(value: str | None) -> str | None:
    cleaned = " ".join((value or "").split())
    return cleaned[:64] or None


def _join(spot: HotSpot, at: datetime, rules: HotSpotRules, area: HotSpotArea) -> None:
    spot.count = area.count
    spot.first_call_at = min(spot.first_call_at, at)
    spot.last_call_at = max(spot.last_call_at, at)
    spot.active_until = active_until(rules, spot.last_call_at)  # it shows a window past its latest call
    spot.message = notice_message(area, rules)


async def record_call(session: AsyncSession, event: Event[Any], rules: HotSpotRules) -> list[Event[Any]]:
    """Count a received ticket in its area; a cluster it completes becomes a hot spot and a HotSpotDetected."""
    payload = event.payload
    if not isinstance(payload, TicketReceived) or event.ticket_id is None:
        return []
    district, community = _place(payload.location.district), _place(payload.location.community)
    if district is None or await session.get(AreaCall, event.ticket_id) is not None:
        return []
    category, at, branch = payload.category.value, payload.received_at, event.branch
    session.add(
        AreaCall(
            ticket_id=event.ticket_id,
            branch=branch,
            district=district,
            community=community,
            category=category,
            received_at=at,
        )
    )
    await session.flush()
    if not rules.watches(payload.category):
        return []
    levels = [None, community] if community is not None else [None]
    showing: set[str | None] = set()
    for level in levels:
        for spot in await store.hot_spots_showing_after(session, branch, district, level, category, at):
            if spot.first_call_at - rules.window < at:  # the call belongs to a cluster already shown
                _join(spot, at, rules, HotSpotArea(district, level, payload.category, spot.count + 1, spot.threshold))
                showing.add(level)
                break
    lo, hi = neighbourhood(rules, at)
    clusters = {
        level: cluster_around(rules, await store.call_times(session, branch, district, level, category, lo, hi), at)
        for level in levels
        if level not in showing
    }
    none = Cluster(0, at, at)
    areas = hot_spots_for(
        rules,
        payload.category,
        district,
        community,
        district_count=clusters.get(None, none).count,
        community_count=clusters.get(community, none).count if community is not None else 0,
    )
    emitted: list[Event[Any]] = []
    for area in areas:
        if area.community in showing:
            continue
        cluster = clusters[area.community]
        hot_spot_id = (
            "HS-"
            + deterministic_event_id("HotSpot", branch, district, area.community or "", category, event.ticket_id).hex[
                :20
            ]
        )
        spot = HotSpot(
            hot_spot_id=hot_spot_id,
            branch=branch,
            district=district,
            community=area.community,
            category=category,
            count=area.count,
            threshold=area.threshold,
            window_minutes=int(rules.window.total_seconds() // 60),
            first_call_at=cluster.first_call_at,
            last_call_at=cluster.last_call_at,
            active_until=active_until(rules, cluster.last_call_at),
            message=notice_message(area, rules),
        )
        session.add(spot)
        emitted.append(
            new_event(
                HotSpotDetected(
                    hot_spot_id=hot_spot_id,
                    category=payload.category,
                    district=district,
                    community=area.community,
                    count=area.count,
                    threshold=area.threshold,
                    window_minutes=spot.window_minutes,
                    first_call_at=spot.first_call_at,
                    last_call_at=spot.last_call_at,
                    active_until=spot.active_until,
                    message=spot.message,
                ),
                branch=branch,
                producer=PRODUCER,
                correlation_id=str(event.event_id),
                occurred_at=event.occurred_at,
                report_id=hot_spot_id,
                event_id=deterministic_event_id("HotSpotDetected", hot_spot_id),
            )
        )
    return emitted
