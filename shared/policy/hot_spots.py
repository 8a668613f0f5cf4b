"""Hot spots: calls of one category clustering in one district or community within a window.

RULES.md §7 (supervision, from §9(四) "analyse the hotline's service") and §9 (§13(三): unexpected
situations reported at once): the regulation names no numbers, so these are **policy defaults**,
configurable per branch in its file's `[hot_spots]` table:

    [hot_spots]
    window_minutes = 120          # calls counted over the last two hours
    district_threshold = 10       # this many calls of one category in one district is a hot spot
    community_threshold = 5       # ... or this many in one community (小区) of that district
    categories = ["repair", "alarm", "complaint"]   # which categories are watched

Pure functions only: the reporting service counts the calls in SQL and asks `hot_spots_for`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.policy.categories import CHINESE_NAMES, Category

DEFAULT_CATEGORIES = frozenset({Category.REPAIR, Category.ALARM, Category.COMPLAINT})


class HotSpotConfigError(ValueError):
    """A `[hot_spots]` table that cannot be used; the message names the field."""


@dataclass(frozen=True)
class HotSpotRules:
    """A branch's thresholds; the defaults are the product's policy (RULES.md §7)."""

    window: timedelta = timedelta(minutes=120)
    district_threshold: int = 10
    community_threshold: int = 5
    categories: frozenset[Category] = field(default=DEFAULT_CATEGORIES)

    def __post_init__(self) -> None:
        if self.window <= timedelta(0):
            raise HotSpotConfigError("hot_spots.window_minutes: must be at least 1")
        if self.district_threshold < 2 or self.community_threshold < 2:
            raise HotSpotConfigError("hot_spots: a threshold of fewer than 2 calls is no cluster")
        if self.community_threshold > self.district_threshold:
            # a community is part of its district: its cluster cannot need more calls than the district's
            raise HotSpotConfigError("hot_spots.community_threshold: must not exceed district_threshold")

    def watches(self, category: Category) -> bool:
        return category in self.categories


@dataclass(frozen=True)
class HotSpotArea:
    """Where a cluster is: a whole district (community None) or one community of it."""

    district: str
    community: str | None
    category: Category
    count: int
    threshold: int


def hot_spot_rules_from_mapping(data: Mapping[str, Any]) -> HotSpotRules:
    """The rules of a branch file's `[hot_spots]` table (every key optional, every value checked)."""
    known = {"window_minutes", "district_threshold", "community_threshold", "categories"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise HotSpotConfigError(f"hot_spots.{unknown[0]}: unknown setting")
    try:
        window = timedelta(minutes=int(data.get("window_minutes", 120)))
        district = int(data.get("district_threshold", 10))
        community = int(data.get("community_threshold", 5))
    except (TypeError, ValueError):
        raise HotSpotConfigError("hot_spots: window_minutes and the thresholds are whole numbers") from None
    raw = data.get("categories")
    if raw is None:
        categories = DEFAULT_CATEGORIES
    else:
        if not isinstance(raw, list | tuple) or not raw:
            raise HotSpotConfigError("hot_spots.categories: a non-empty list of category keys")
        try:
            categories = frozenset(Category(str(c)) for c in raw)
        except ValueError:
            raise HotSpotConfigError("hot_spots.categories: lists category keys, e.g. 'repair'") from None
    return HotSpotRules(window, district, community, categories)


def hot_spots_for(
    rules: HotSpotRules,
    category: Category,
    district: str | None,
    community: str | None,
    *,
    district_count: int,
    community_count: int,
) -> list[HotSpotArea]:
    """The clusters the latest call completes: its district and/or its community, when at their threshold.

    `district_count` / `community_count` are the calls of `category` in the window ending at the
    latest call, that call included. A call with no district is in no area; a community count is
    only meaningful with a community.
    """
    if district is None or not district.strip() or not rules.watches(category):
        return []
    found: list[HotSpotArea] = []
    if district_count >= rules.district_threshold:
        found.append(HotSpotArea(district, None, category, district_count, rules.district_threshold))
    if community is not None and community.strip() and community_count >= rules.community_threshold:
        found.append(HotSpotArea(district, community, category, community_count, rules.community_threshold))
    return found


@dataclass(frozen=True)
class Cluster:
    """The densest run of calls within one window that includes a given call."""

    count: int
    first_call_at: datetime
    last_call_at: datetime


def cluster_around(rules: HotSpotRules, call_times: Sequence[datetime], at: datetime) -> Cluster:
    """The most calls that fit in one window (first to last less than `rules.window` apart) with the call at `at`.

    Calls reach the service out of order (the ticket topic has many partitions, and a rebuild reads them in
    another order than the live consumer did), so every window holding `at` counts, not only the one ending
    at it: the answer is the same whatever order the calls came in. `call_times` are the area's calls of one
    category near `at` (see `neighbourhood`), the call at `at` itself included.
    """
    times = sorted(call_times)
    best = Cluster(1, at, at)
    for i, start in enumerate(times):
        if start > at:
            break
        if at - start >= rules.window:
            continue
        inside = [t for t in times[i:] if t - start < rules.window]
        if len(inside) > best.count:
            best = Cluster(len(inside), start, inside[-1])
    return best


def neighbourhood(rules: HotSpotRules, at: datetime) -> tuple[datetime, datetime]:
    """The calls that can share a window with one at `at`: those in (at - window, at + window)."""
    return at - rules.window, at + rules.window


def active_until(rules: HotSpotRules, last_call_at: datetime) -> datetime:
    """A hot spot shows until a full window has passed since its last call."""
    return last_call_at + rules.window


def notice_message(area: HotSpotArea, rules: HotSpotRules) -> str:
    """What an agent reads on the banner, in Chinese (the console's default language)."""
    place = area.district + (area.community or "")
    minutes = int(rules.window.total_seconds() // 60)
    span = f"{minutes // 60}小时" if minutes % 60 == 0 else f"{minutes}分钟"
    return f"{place}近{span}内{CHINESE_NAMES[area.category]}来电集中（{area.count}起）"
