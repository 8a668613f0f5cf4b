"""Survey questions per category from a branch file (issue 18, RULES.md §7): parsing and answer checks."""

from __future__ import annotations

import pytest

from shared.branch_config import BranchPolicies
from shared.policy.categories import Category
from shared.policy.survey import (
    AnswerError,
    SurveyConfigError,
    checked_answers,
    survey_questions_from_mapping,
)

RATING = {"id": "attitude", "text": "态度满意吗？", "kind": "rating"}
YES_NO = {"id": "visit", "text": "按时上门了吗？", "kind": "yes_no", "categories": ["repair"]}


def test_questions_are_asked_per_category() -> None:
    survey = survey_questions_from_mapping({"questions": [RATING, YES_NO]})
    assert [q.id for q in survey.for_category(Category.REPAIR)] == ["attitude", "visit"]
    assert [q.id for q in survey.for_category(Category.COMPLAINT)] == ["attitude"]
    assert survey.by_id()["attitude"].text_en == "态度满意吗？"  # no English text: the Chinese one


@pytest.mark.parametrize(
    ("questions", "field"),
    [
        ([{**RATING, "id": "has space"}], "survey.questions[0].id"),
        ([RATING, RATING], "survey.questions[1].id"),
        ([{**RATING, "text": ""}], "survey.questions[0].text"),
        ([{**RATING, "kind": "stars"}], "survey.questions[0].kind"),
        ([{**RATING, "categories": ["gas"]}], "survey.questions[0].categories"),
        ([{**RATING, "categories": []}], "survey.questions[0].categories"),
        ("attitude", "survey.questions"),
    ],
)
def test_a_bad_question_names_its_field(questions: object, field: str) -> None:
    with pytest.raises(SurveyConfigError) as raised:
        survey_questions_from_mapping({"questions": questions})
    assert str(raised.value).startswith(f"{field}:")


@pytest.mark.parametrize(
    ("category", "answers", "outcome"),
    [
        (Category.REPAIR, {"attitude": 1, "visit": 0}, {"attitude": 1, "visit": 0}),
        (Category.REPAIR, {}, {}),  # the customer answered none of them
        (Category.REPAIR, {"attitude": 5}, {"attitude": 5}),
        (Category.REPAIR, {"attitude": 0}, "answers.attitude"),
        (Category.REPAIR, {"attitude": 6}, "answers.attitude"),
        (Category.REPAIR, {"visit": 2}, "answers.visit"),
        (Category.REPAIR, {"visit": True}, "answers.visit"),
        (Category.COMPLAINT, {"visit": 1}, "answers.visit"),
        (Category.REPAIR, {"other": 3}, "answers.other"),
    ],
)
def test_answers_are_checked_against_the_questions_of_the_category(
    category: Category, answers: dict[str, int], outcome: object
) -> None:
    survey = survey_questions_from_mapping({"questions": [RATING, YES_NO]})
    if isinstance(outcome, dict):
        assert checked_answers(survey, category, answers) == outcome
    else:
        with pytest.raises(AnswerError) as raised:
            checked_answers(survey, category, answers)
        assert raised.value.field == outcome


def test_the_demo_branch_asks_its_questions_and_the_default_none() -> None:
    policies = BranchPolicies()
    assert [q.id for q in policies.branch("demo").survey.for_category(Category.REPAIR)] == ["attitude", "on_time_visit"]
    assert policies.branch("default").survey.questions == ()
