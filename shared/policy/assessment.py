"""Assessment (考核) of units and divisions per period (RULES.md §7, from §9(五), §11(一)): a weighted score.

**Policy defaults**, weights configurable per branch in its file's `[assessment]` table (points out of 100):

    [assessment]
    on_time = 40        # every clock's met / (met + breached)
    satisfaction = 25   # average callback rating, 1 scores 0 and 5 scores full
    complaints = 15     # complaints per 100 tickets; `complaints_per_100_zero` (10) or more scores 0
    returns = 10        # returns per dispatch
    reopenings = 10     # reopened / replied

A component with nothing to measure (no survey, no dispatch...) is left out and the others' weights
are scaled up to 100, so a unit is never rewarded or punished for what did not happen; every component
is shown with its figure, score and points so a unit can see why it scored what it did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

COMPONENTS = ("on_time", "satisfaction", "complaints", "returns", "reopenings")


class AssessmentConfigError(ValueError):
    """An `[assessment]` table that cannot be used; the message names the field."""


@dataclass(frozen=True)
class AssessmentWeights:
    on_time: float = 40
    satisfaction: float = 25
    complaints: float = 15
    returns: float = 10
    reopenings: float = 10
    complaints_per_100_zero: float = 10  # this many complaints per 100 tickets (or more) scores 0

    def __post_init__(self) -> None:
        weights = [getattr(self, name) for name in COMPONENTS]
        if any(w < 0 for w in weights):
            raise AssessmentConfigError("assessment: a weight is never negative")
        if abs(sum(weights) - 100) > 1e-9:
            raise AssessmentConfigError(f"assessment: the weights add up to {sum(weights):g}, not 100")
        if self.complaints_per_100_zero <= 0:
            raise AssessmentConfigError("assessment.complaints_per_100_zero: must be above 0")


def assessment_weights_from_mapping(data: Mapping[str, Any]) -> AssessmentWeights:
    unknown = sorted(set(data) - {*COMPONENTS, "complaints_per_100_zero"})
    if unknown:
        raise AssessmentConfigError(f"assessment.{unknown[0]}: unknown setting")
    try:
        values = {k: float(v) for k, v in data.items()}
    except (TypeError, ValueError):
        raise AssessmentConfigError("assessment: weights are numbers") from None
    return AssessmentWeights(**values)


@dataclass(frozen=True)
class Measures:
    """What a unit's or division's period figures say, as the assessment reads them."""

    on_time_rate: float | None
    satisfaction_average: float | None
    complaints: int
    received: int
    returns: int
    dispatched: int
    reopen_rate: float | None


@dataclass(frozen=True)
class Component:
    name: str
    figure: float | None  # the measure it is scored on
    score: float | None  # 0..1, None: nothing to measure
    weight: float  # as configured
    points: float  # the share of the total it gave (weights of measured components scaled to 100)


@dataclass(frozen=True)
class Assessment:
    total: float | None  # 0..100; None when nothing could be measured
    components: tuple[Component, ...]


def _clamp(value: float) -> float:
    return max(0.0, min(1.0, value))


def _scores(weights: AssessmentWeights, m: Measures) -> dict[str, tuple[float | None, float | None]]:
    per_100 = 100 * m.complaints / m.received if m.received else None
    per_dispatch = m.returns / m.dispatched if m.dispatched else None
    return {
        "on_time": (m.on_time_rate, m.on_time_rate),
        "satisfaction": (
            m.satisfaction_average,
            None if m.satisfaction_average is None else _clamp((m.satisfaction_average - 1) / 4),
        ),
        "complaints": (per_100, None if per_100 is None else _clamp(1 - per_100 / weights.complaints_per_100_zero)),
        "returns": (per_dispatch, None if per_dispatch is None else _clamp(1 - per_dispatch)),
        "reopenings": (m.reopen_rate, None if m.reopen_rate is None else _clamp(1 - m.reopen_rate)),
    }


def assess(weights: AssessmentWeights, measures: Measures) -> Assessment:
    """The score out of 100 and each component's figure, score and points."""
    scores = _scores(weights, measures)
    measured = sum(getattr(weights, name) for name in COMPONENTS if scores[name][1] is not None)
    components = []
    for name in COMPONENTS:
        figure, score = scores[name]
        weight = getattr(weights, name)
        points = 0.0 if score is None or not measured else round(100 * weight / measured * score, 2)
        components.append(Component(name, figure, score, weight, points))
    total = round(sum(c.points for c in components), 2) if measured else None
    return Assessment(total, tuple(components))
