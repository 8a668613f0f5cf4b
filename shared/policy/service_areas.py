"""Service areas of the routing rules: a rule must route somewhere, and no two units may claim the same requests.

Routing (services/dispatch/routing.py) sends a request to the most specific matching rule; two matching rules
of equal specificity that name different units are ambiguous and the request waits in the center's manual
queue (RULES.md §1, §15(一)3: the unit is chosen by rule, never guessed). An admin edit that would create such
a tie is refused before it is saved, with the rule it clashes with; so is a rule whose unit cannot receive
work (inactive, or in an inactive division): it would route nowhere.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

AREA_FIELDS = ("communities", "address_patterns", "districts")


@dataclass(frozen=True)
class AreaRule:
    """The criteria of one routing rule (any value of a list matches; an empty list matches anything)."""

    rule_id: str
    unit_id: str
    categories: frozenset[str] = frozenset()
    subtypes: frozenset[str] = frozenset()
    districts: frozenset[str] = frozenset()
    communities: frozenset[str] = frozenset()
    address_patterns: tuple[str, ...] = ()

    @classmethod
    def of(cls, definition: Mapping[str, object]) -> AreaRule:
        """From the rule as the admin API writes it (`id`, `unit`, `categories`, ..., `address_patterns`)."""

        def values(key: str) -> list[str]:
            found = definition.get(key) or ()
            return [str(v) for v in found] if isinstance(found, Sequence) and not isinstance(found, str) else []

        return cls(
            rule_id=str(definition.get("id", "")),
            unit_id=str(definition.get("unit", "")),
            categories=frozenset(values("categories")),
            subtypes=frozenset(values("subtypes")),
            districts=frozenset(values("districts")),
            communities=frozenset(values("communities")),
            address_patterns=tuple(values("address_patterns")),
        )


def specificity(
    *, subtypes: bool, categories: bool, communities: bool, address_patterns: bool, districts: bool
) -> tuple[int, int]:
    """(category part, area part): a category rule beats an area rule; a narrower criterion beats a wider."""
    category_part = 2 if subtypes else 1 if categories else 0
    area_part = 3 if communities else 2 if address_patterns else 1 if districts else 0
    return category_part, area_part


def _specificity(rule: AreaRule) -> tuple[int, int]:
    return specificity(
        subtypes=bool(rule.subtypes),
        categories=bool(rule.categories),
        communities=bool(rule.communities),
        address_patterns=bool(rule.address_patterns),
        districts=bool(rule.districts),
    )


def _sets_meet(a: frozenset[str], b: frozenset[str]) -> bool:
    return not a or not b or bool(a & b)


def _patterns_meet(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether some address is known to match a pattern of each: equal patterns, or one matching the other's text.

    Two patterns like `*A*` and `*B*` may both match an address holding A and B; that is not provable from the
    patterns alone and is not refused (the routing then queues such an address for the center).
    """
    if not a or not b:
        return True
    return any(p == q or fnmatch.fnmatchcase(q, p) or fnmatch.fnmatchcase(p, q) for p in a for q in b)


def overlap(a: AreaRule, b: AreaRule) -> bool:
    """Whether a request could match both rules (every criterion both name shares a value)."""
    return (
        _sets_meet(a.categories, b.categories)
        and _sets_meet(a.subtypes, b.subtypes)
        and _sets_meet(a.districts, b.districts)
        and _sets_meet(a.communities, b.communities)
        and _patterns_meet(a.address_patterns, b.address_patterns)
    )


def conflicts(candidate: AreaRule, others: Iterable[AreaRule]) -> list[AreaRule]:
    """The other units' rules that would tie with `candidate` (same specificity, overlapping criteria)."""
    rank = _specificity(candidate)
    return [
        other
        for other in others
        if other.rule_id != candidate.rule_id
        and other.unit_id != candidate.unit_id
        and _specificity(other) == rank
        and overlap(candidate, other)
    ]


@dataclass(frozen=True)
class RuleProblem:
    """Why a rule is refused: the input at fault and a message for the admin."""

    field: str
    message: str


def _shared(candidate: AreaRule, other: AreaRule) -> tuple[str, str]:
    """The area criterion the two rules share, and its values, for the message."""
    for name in AREA_FIELDS:
        mine, theirs = getattr(candidate, name), getattr(other, name)
        if mine and theirs:
            common = sorted(set(mine) & set(theirs)) or sorted(set(mine) | set(theirs))
            return name, "、".join(common)
        if mine:
            return name, "、".join(sorted(mine))
    return "categories", "、".join(sorted(candidate.categories | candidate.subtypes))


def check_rule(candidate: AreaRule, others: Iterable[AreaRule], active_units: Collection[str]) -> RuleProblem | None:
    """None when the rule may be saved; else the first reason it may not (routes nowhere, overlaps a unit's)."""
    if candidate.unit_id not in active_units:
        return RuleProblem(
            "unit",
            f"unit {candidate.unit_id!r} is not an active unit of an active division: the rule would route nowhere",
        )
    clash = conflicts(candidate, others)
    if clash:
        other = clash[0]
        field, values = _shared(candidate, other)
        return RuleProblem(
            field,
            f"the area overlaps rule {other.rule_id!r} of unit {other.unit_id!r} ({values}): "
            "a request there would match both rules and wait for manual dispatch",
        )
    return None
