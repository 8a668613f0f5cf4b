"""Assessment (RULES.md §7): weighted components out of 100, unmeasured ones left out, every part shown."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.policy.assessment import (
    AssessmentConfigError,
    AssessmentWeights,
    Measures,
    assess,
    assessment_weights_from_mapping,
)

W = AssessmentWeights()


def m(**overrides: object) -> Measures:
    values: dict[str, object] = {
        "on_time_rate": 1.0,
        "satisfaction_average": 5.0,
        "complaints": 0,
        "received": 100,
        "returns": 0,
        "dispatched": 80,
        "reopen_rate": 0.0,
    }
    values.update(overrides)
    return Measures(**values)  # type: ignore[arg-type]


def test_a_perfect_unit_scores_100_and_every_component_is_shown() -> None:
    result = assess(W, m())
    assert result.total == 100
    assert [(c.name, c.points) for c in result.components] == [
        ("on_time", 40),
        ("satisfaction", 25),
        ("complaints", 15),
        ("returns", 10),
        ("reopenings", 10),
    ]


def test_hand_computed_scores() -> None:
    # on time 0.75 -> 30; satisfaction 4.0 -> 0.75 -> 18.75; 5 complaints / 100 -> 0.5 -> 7.5;
    # 8 returns / 80 dispatched -> 0.9 -> 9; reopen 0.2 -> 0.8 -> 8
    result = assess(W, m(on_time_rate=0.75, satisfaction_average=4.0, complaints=5, returns=8, reopen_rate=0.2))
    assert [c.points for c in result.components] == [30, 18.75, 7.5, 9, 8]
    assert result.total == 73.25
    assert [c.figure for c in result.components] == [0.75, 4.0, 5.0, 0.1, 0.2]


def test_unmeasured_components_are_left_out_and_the_rest_scaled_to_100() -> None:
    # no survey: the other 75 points become 100
    result = assess(W, m(satisfaction_average=None, on_time_rate=0.5))
    satisfaction = next(c for c in result.components if c.name == "satisfaction")
    assert satisfaction.score is None and satisfaction.points == 0
    assert result.total == pytest.approx(100 * (40 * 0.5 + 15 + 10 + 10) / 75, abs=0.01)


def test_nothing_measured_is_no_score() -> None:
    nothing = m(on_time_rate=None, satisfaction_average=None, received=0, dispatched=0, reopen_rate=None)
    assert assess(W, nothing).total is None


def test_many_complaints_score_zero_not_below() -> None:
    result = assess(W, m(complaints=40))
    assert next(c for c in result.components if c.name == "complaints").score == 0


@given(
    on_time=st.floats(0, 1),
    satisfaction=st.floats(1, 5),
    complaints=st.integers(0, 200),
    returns=st.integers(0, 80),
    reopen=st.floats(0, 1),
)
def test_the_total_is_between_0_and_100_and_the_sum_of_the_points(
    on_time: float, satisfaction: float, complaints: int, returns: int, reopen: float
) -> None:
    result = assess(
        W,
        m(
            on_time_rate=on_time,
            satisfaction_average=satisfaction,
            complaints=complaints,
            returns=returns,
            reopen_rate=reopen,
        ),
    )
    assert result.total is not None and 0 <= result.total <= 100
    assert result.total == pytest.approx(sum(c.points for c in result.components), abs=0.05)


def test_branch_weights() -> None:
    weights = assessment_weights_from_mapping(
        {"on_time": 50, "satisfaction": 20, "complaints": 10, "returns": 10, "reopenings": 10}
    )
    assert weights.on_time == 50
    assert assessment_weights_from_mapping({}) == W


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"on_time": 50}, "add up to 110"),
        ({"on_time": -10, "satisfaction": 75}, "never negative"),
        ({"speed": 1}, "unknown setting"),
        ({"on_time": "lots"}, "numbers"),
        ({"complaints_per_100_zero": 0}, "above 0"),
    ],
)
def test_bad_weights(table: dict[str, object], message: str) -> None:
    with pytest.raises(AssessmentConfigError, match=message):
        assessment_weights_from_mapping(table)
