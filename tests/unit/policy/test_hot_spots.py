"""Hot-spot rules (RULES.md §7 policy defaults): thresholds, areas, windows and the branch file's table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.policy.categories import Category
from shared.policy.hot_spots import (
    DEFAULT_CATEGORIES,
    Cluster,
    HotSpotArea,
    HotSpotConfigError,
    HotSpotRules,
    active_until,
    cluster_around,
    hot_spot_rules_from_mapping,
    hot_spots_for,
    neighbourhood,
    notice_message,
)

RULES = HotSpotRules()  # 120 min, district 10, community 5
AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("category", "district", "community", "district_count", "community_count", "expected"),
    [
        # below both thresholds: nothing
        (Category.REPAIR, "青秀区", "凤岭小区", 9, 4, []),
        # the community reaches its threshold first
        (Category.REPAIR, "青秀区", "凤岭小区", 5, 5, [("青秀区", "凤岭小区", 5, 5)]),
        # the district reaches its threshold, the community does not
        (Category.REPAIR, "青秀区", "凤岭小区", 10, 4, [("青秀区", None, 10, 10)]),
        # both at once: the district first, then the community
        (Category.ALARM, "青秀区", "凤岭小区", 12, 6, [("青秀区", None, 12, 10), ("青秀区", "凤岭小区", 6, 5)]),
        # no community: only the district is judged, whatever the community count says
        (Category.COMPLAINT, "青秀区", None, 4, 99, []),
        (Category.COMPLAINT, "青秀区", None, 10, 0, [("青秀区", None, 10, 10)]),
        # a blank community is no community
        (Category.REPAIR, "青秀区", "  ", 3, 9, []),
        # no district, or a blank one: no area at all
        (Category.REPAIR, None, "凤岭小区", 50, 50, []),
        (Category.REPAIR, " ", "凤岭小区", 50, 50, []),
        # a category the branch does not watch never clusters
        (Category.CONSULTATION, "青秀区", "凤岭小区", 50, 50, []),
        (Category.QUERY, "青秀区", None, 50, 0, []),
    ],
)
def test_hot_spots_for(
    category: Category,
    district: str | None,
    community: str | None,
    district_count: int,
    community_count: int,
    expected: list[tuple[str, str | None, int, int]],
) -> None:
    found = hot_spots_for(
        RULES, category, district, community, district_count=district_count, community_count=community_count
    )
    assert [(a.district, a.community, a.count, a.threshold) for a in found] == expected
    assert all(a.category is category for a in found)


@given(
    district_count=st.integers(min_value=0, max_value=100),
    community_count=st.integers(min_value=0, max_value=100),
    more=st.integers(min_value=0, max_value=10),
)
def test_more_calls_never_remove_a_hot_spot(district_count: int, community_count: int, more: int) -> None:
    def areas(d: int, c: int) -> set[str | None]:
        return {
            a.community
            for a in hot_spots_for(RULES, Category.REPAIR, "X区", "Y小区", district_count=d, community_count=c)
        }

    assert areas(district_count, community_count) <= areas(district_count + more, community_count + more)


@pytest.mark.parametrize("category", sorted(Category))
def test_default_categories_are_the_urgent_ones(category: Category) -> None:
    assert RULES.watches(category) is (category in {Category.REPAIR, Category.ALARM, Category.COMPLAINT})


def m(minutes: int) -> datetime:
    return AT + timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("calls", "at", "expected"),
    [
        # alone
        ([0], 0, (1, 0, 0)),
        # the call ends a window
        ([0, 30, 60, 90], 90, (4, 0, 90)),
        # the call opens a window of calls that came before it on the wire (out of order)
        ([0, 30, 60, 90], 0, (4, 0, 90)),
        # in the middle: the densest window holding it
        ([-100, 0, 30, 60, 119], 30, (4, 0, 119)),
        # a window is shorter than two hours: calls 120 minutes apart are never together
        ([0, 120], 0, (1, 0, 0)),
        ([0, 119], 0, (2, 0, 119)),
        # calls at the same instant all count
        ([5, 5, 5], 5, (3, 5, 5)),
        # the densest window wins over the one starting at the earliest call
        ([-130, -60, 0, 1, 2, 3], 0, (5, -60, 3)),
    ],
)
def test_cluster_around(calls: list[int], at: int, expected: tuple[int, int, int]) -> None:
    count, first, last = expected
    assert cluster_around(RULES, [m(c) for c in calls], m(at)) == Cluster(count, m(first), m(last))


@given(
    offsets=st.lists(st.integers(min_value=-240, max_value=240), min_size=1, max_size=30),
    pick=st.integers(min_value=0),
    data=st.randoms(use_true_random=False),
)
def test_cluster_is_the_same_whatever_order_the_calls_came_in(offsets: list[int], pick: int, data: object) -> None:
    calls = [m(o) for o in offsets]
    at = calls[pick % len(calls)]
    shuffled = list(calls)
    data.shuffle(shuffled)  # type: ignore[attr-defined]
    found = cluster_around(RULES, calls, at)
    assert cluster_around(RULES, shuffled, at) == found
    # it holds the call, fits in one window, and no window ending at the call holds more
    assert found.first_call_at <= at <= found.last_call_at
    assert found.last_call_at - found.first_call_at < RULES.window
    ending_here = sum(1 for c in calls if at - RULES.window < c <= at)
    assert found.count >= ending_here


def test_a_call_shares_windows_with_calls_up_to_a_window_either_side_and_shows_a_window_past_the_last() -> None:
    assert neighbourhood(RULES, AT) == (AT - timedelta(hours=2), AT + timedelta(hours=2))
    assert active_until(RULES, AT) == AT + timedelta(hours=2)
    short = HotSpotRules(window=timedelta(minutes=45), district_threshold=4, community_threshold=3)
    assert active_until(short, AT) == AT + timedelta(minutes=45)


def test_notice_message_names_place_category_window_and_count() -> None:
    area = HotSpotArea("青秀区", "凤岭小区", Category.REPAIR, 6, 5)
    assert notice_message(area, RULES) == "青秀区凤岭小区近2小时内故障报修来电集中（6起）"
    district = HotSpotArea("青秀区", None, Category.ALARM, 11, 10)
    assert (
        notice_message(district, HotSpotRules(window=timedelta(minutes=45))) == "青秀区近45分钟内报警来电集中（11起）"
    )


def test_branch_table_read_with_every_key() -> None:
    rules = hot_spot_rules_from_mapping(
        {"window_minutes": 60, "district_threshold": 8, "community_threshold": 3, "categories": ["repair", "query"]}
    )
    assert rules == HotSpotRules(timedelta(minutes=60), 8, 3, frozenset({Category.REPAIR, Category.QUERY}))


def test_branch_table_empty_gives_the_policy_defaults() -> None:
    assert hot_spot_rules_from_mapping({}) == HotSpotRules()
    assert HotSpotRules().categories == DEFAULT_CATEGORIES


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"window_minutes": 0}, "window_minutes"),
        ({"window_minutes": "soon"}, "whole numbers"),
        ({"district_threshold": 1}, "fewer than 2"),
        ({"community_threshold": 1}, "fewer than 2"),
        ({"district_threshold": 4, "community_threshold": 6}, "must not exceed"),
        ({"categories": []}, "non-empty list"),
        ({"categories": "repair"}, "non-empty list"),
        ({"categories": ["leak"]}, "category keys"),
        ({"threshold": 3}, "unknown setting"),
    ],
)
def test_branch_table_refused(table: dict[str, object], message: str) -> None:
    with pytest.raises(HotSpotConfigError, match=message):
        hot_spot_rules_from_mapping(table)


def test_branch_file_carries_the_rules() -> None:
    from shared.policy.branch import BranchConfigError, branch_policy_from_mapping

    policy = branch_policy_from_mapping("X", {"hot_spots": {"window_minutes": 30, "community_threshold": 3}})
    assert policy.hot_spots.window == timedelta(minutes=30)
    assert policy.hot_spots.community_threshold == 3
    assert branch_policy_from_mapping("X", {}).hot_spots == HotSpotRules()
    with pytest.raises(BranchConfigError, match=r"hot_spots\.categories"):
        branch_policy_from_mapping("X", {"hot_spots": {"categories": ["leak"]}})
