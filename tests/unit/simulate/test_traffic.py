"""The traffic model: seeded, a gas hotline's mix, complaint clusters that reach levels 2 and 1, people's scripts."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from hotline.simulate.traffic import DISTRICT_UNITS, INSTALL_UNIT, UNITS, plan_traffic
from shared.policy.categories import Category, Subtype


def test_the_same_seed_gives_the_same_traffic_and_another_seed_other_traffic() -> None:
    assert plan_traffic(300, seed=7) == plan_traffic(300, seed=7)
    assert plan_traffic(300, seed=7) != plan_traffic(300, seed=8)


def test_the_mix_is_mostly_consultations_and_repairs_with_a_few_alarms_and_praise() -> None:
    counts = Counter(call.category for call in plan_traffic(2_000, seed=1).calls)
    share = {category: n / 2_000 for category, n in counts.items()}
    assert share[Category.CONSULTATION] + share[Category.REPAIR] > 0.45
    assert share[Category.CONSULTATION] > share[Category.SERVICE_REQUEST]
    assert 0.07 < share[Category.SERVICE_REQUEST] < 0.18
    assert 0.05 < share[Category.COMPLAINT] < 0.13
    assert 0 < share[Category.ALARM] < 0.06
    assert 0 < share[Category.PRAISE] < 0.06
    assert set(counts) == set(Category)  # every category shows up in a big enough day


def test_queries_are_answered_on_the_call_and_some_consultations_and_repairs_too() -> None:
    calls = plan_traffic(1_000, seed=3).calls
    assert all(c.on_call for c in calls if c.category is Category.QUERY)
    consultations = [c for c in calls if c.category is Category.CONSULTATION]
    assert 0.3 < sum(c.on_call for c in consultations) / len(consultations) < 0.6
    assert not any(c.on_call for c in calls if c.category in (Category.COMPLAINT, Category.ALARM))
    assert not any(c.owes_callback for c in calls if c.on_call or c.category is Category.PRAISE)


def test_calls_come_in_order_over_one_working_day() -> None:
    times = [c.at for c in plan_traffic(500, seed=2).calls]
    assert times == sorted(times)
    assert timedelta(hours=8) <= times[0] and times[-1] < timedelta(hours=18)
    morning = sum(1 for t in times if t < timedelta(hours=12))
    assert 0.4 < morning / len(times) < 0.7


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_complaint_clusters_reach_level_two_and_level_one(seed: int) -> None:
    """RULES.md §4: 5+ distinct complainants on one subject; litigation; media; one customer 5 times."""
    complaints = [c for c in plan_traffic(500, seed=seed).calls if c.complaint is not None]
    assert all(c.category is Category.COMPLAINT for c in complaints)
    clusters: dict[str, list[tuple[str, str, str]]] = {}
    for call in complaints:
        assert call.complaint is not None
        if call.complaint.cluster:
            key = (call.complaint.place, call.complaint.complaint_type, call.caller.phone)
            clusters.setdefault(call.complaint.cluster, []).append(key)
    level2 = [members for name, members in clusters.items() if name.startswith("level2")]
    assert level2
    for members in level2:
        assert len({(place, kind) for place, kind, _ in members}) == 1  # one subject
        assert len({phone for _, _, phone in members}) >= 5  # five different complainants
    assert any(c.complaint and c.complaint.litigation for c in complaints)
    assert any(c.complaint and c.complaint.media_exposure for c in complaints)
    repeat = clusters["repeat-customer"]
    assert len(repeat) == 5 and len(set(repeat)) == 1  # the same customer, same matter, five times


def test_tickets_go_to_the_unit_the_demo_routing_would_choose() -> None:
    for call in plan_traffic(500, seed=5).calls:
        assert call.unit_id in UNITS
        if call.manual_dispatch_after is not None:
            assert call.caller.district is None  # no rule knows the address: the center dispatches by hand
        elif call.category is Category.SERVICE_REQUEST and call.subtype is not Subtype.SAFETY_INSPECTION:
            assert call.unit_id == INSTALL_UNIT
        else:
            assert call.unit_id == DISTRICT_UNITS[call.caller.district or ""]


def test_the_people_misbehave_in_every_way_the_report_counts() -> None:
    calls = plan_traffic(500, seed=1).calls
    units = [c.unit for c in calls]
    assert any(u.late_by for u in units)
    assert any(u.returns and u.returns.center_refuses for u in units)
    assert any(u.returns and not u.returns.center_refuses for u in units)
    assert any(u.extension and u.extension.granted for u in units)
    assert any(u.extension and not u.extension.granted for u in units)
    assert any(u.reply_rejected for u in units)
    outcomes = [c.callback.outcomes for c in calls]
    assert any(o.count("reached") == 0 and len(o) == 3 for o in outcomes)  # never reachable: abandoned
    assert any(o[0] == "reply_mismatch" for o in outcomes)
    assert any(c.manual_dispatch_after for c in calls)
    assert len({c.caller.phone for c in calls if c.complaint is None}) == sum(1 for c in calls if c.complaint is None)


def test_the_slow_station_is_late_more_often_than_the_others() -> None:
    calls = plan_traffic(3_000, seed=11).calls

    def late_share(unit: str) -> float:
        mine = [c for c in calls if c.unit_id == unit and c.category is Category.CONSULTATION]
        return sum(1 for c in mine if c.unit.late_by) / len(mine)

    assert late_share("U-XIXIANGTANG") > 2 * late_share("U-QINGXIU")


def test_a_day_needs_at_least_one_call() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        plan_traffic(0, seed=1)
