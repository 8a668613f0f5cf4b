"""RULES.md §8: the escalation ladder — who hears of a breached clock, when, and whether by phone / SMS too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shared.policy.categories import Category
from shared.policy.limits import ComplaintLevel

Level = Literal["division", "center"]
Reason = Literal["breach", "further_limit_passed", "urgent"]


@dataclass(frozen=True)
class Escalation:
    """One rung reached: the org level told, why, and whether it also goes out as an urgent notice."""

    to_level: Level
    reason: Reason
    notice: bool = False  # RULES.md §8 / §15(二)1: phone / SMS on hotline.notifications


def is_urgent(category: Category, level: ComplaintLevel | None) -> bool:
    """RULES.md §8: alarms and level-1 complaints skip the ladder's wait and go to the center at once."""
    return category is Category.ALARM or level is ComplaintLevel.MAJOR


def at_breach(*, urgent: bool, has_division: bool) -> tuple[Escalation, ...]:
    """Who is told when a clock's deadline passes with it still running.

    The unit's division first (a clock of the center's own step, such as dispatch, has no division:
    the center itself); an urgent ticket also goes to the center at once, with a phone / SMS notice.
    """
    steps: list[Escalation] = []
    if has_division:
        steps.append(Escalation("division", "breach"))
    if urgent:
        steps.append(Escalation("center", "urgent", notice=True))
    elif not has_division:
        steps.append(Escalation("center", "breach"))
    return tuple(steps)


def after_further_limit(*, breached: bool, center_told: bool) -> Escalation | None:
    """RULES.md §8: one more full limit after the deadline, a breached clock reaches the center (once)."""
    if breached and not center_told:
        return Escalation("center", "further_limit_passed")
    return None
