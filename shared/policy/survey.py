"""Satisfaction survey questions per category, configured per branch (RULES.md §7, from §9(八); §5 surveys).

Every survey (回访) records whether the problem was solved and a 1–5 rating (RULES.md §5); a branch may ask
more, per category, in its file's `[[survey.questions]]` array:

    [[survey.questions]]
    id = "attitude"                       # letters, digits, _ and -: the answer's key in CallbackCompleted
    text = "您对处理人员的服务态度满意吗？"   # what the agent reads to the customer
    text_en = "Were you satisfied with the handler's attitude?"
    kind = "rating"                       # rating: 1-5; yes_no: yes or no (recorded 1 / 0)
    categories = ["repair", "complaint"]  # omitted: every category

A question the customer did not answer is left out; an answer to a question not asked for the ticket's
category, or out of its range, is refused (the agent re-asks, nothing is half-recorded).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from shared.policy.categories import Category

QuestionKind = Literal["rating", "yes_no"]
KINDS: tuple[QuestionKind, ...] = ("rating", "yes_no")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MAX_QUESTIONS = 20


class SurveyConfigError(ValueError):
    """A `[survey]` table that cannot be used; the message names the field."""


class AnswerError(ValueError):
    """An answer the survey cannot take; `field` names it (answers.<id>)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class SurveyQuestion:
    id: str
    text: str
    text_en: str
    kind: QuestionKind = "rating"
    categories: frozenset[Category] | None = None  # None: every category

    def asked_for(self, category: Category) -> bool:
        return self.categories is None or category in self.categories

    def bounds(self) -> tuple[int, int]:
        return (1, 5) if self.kind == "rating" else (0, 1)


@dataclass(frozen=True)
class SurveyQuestions:
    questions: tuple[SurveyQuestion, ...] = ()

    def for_category(self, category: Category) -> tuple[SurveyQuestion, ...]:
        return tuple(q for q in self.questions if q.asked_for(category))

    def by_id(self) -> dict[str, SurveyQuestion]:
        return {q.id: q for q in self.questions}


def survey_questions_from_mapping(data: Mapping[str, Any]) -> SurveyQuestions:
    """The `[survey]` table of a branch file (empty: no extra question)."""
    raw = data.get("questions", [])
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise SurveyConfigError("survey.questions: expected an array of tables ([[survey.questions]])")
    if len(raw) > MAX_QUESTIONS:
        raise SurveyConfigError(f"survey.questions: at most {MAX_QUESTIONS} questions")
    questions: list[SurveyQuestion] = []
    for i, entry in enumerate(raw):
        where = f"survey.questions[{i}]"
        if not isinstance(entry, Mapping):
            raise SurveyConfigError(f"{where}: expected a table")
        qid, text = str(entry.get("id", "")), str(entry.get("text", "")).strip()
        if not _ID.match(qid):
            raise SurveyConfigError(f"{where}.id: 1-32 letters, digits, _ or -")
        if qid in {q.id for q in questions}:
            raise SurveyConfigError(f"{where}.id: {qid!r} is asked twice")
        if not text or len(text) > 200:
            raise SurveyConfigError(f"{where}.text: the question, 1-200 characters")
        kind = entry.get("kind", "rating")
        if kind not in KINDS:
            raise SurveyConfigError(f"{where}.kind: one of {', '.join(KINDS)}")
        categories = None
        if "categories" in entry:
            try:
                categories = frozenset(Category(c) for c in entry["categories"])
            except (ValueError, TypeError):
                raise SurveyConfigError(f"{where}.categories: lists category keys") from None
            if not categories:
                raise SurveyConfigError(f"{where}.categories: leave it out to ask every category")
        text_en = str(entry.get("text_en", "")).strip() or text
        questions.append(SurveyQuestion(qid, text, text_en, kind, categories))
    return SurveyQuestions(tuple(questions))


def checked_answers(survey: SurveyQuestions, category: Category, answers: Mapping[str, int]) -> dict[str, int]:
    """The answers as recorded (question id -> value), or AnswerError naming the first wrong one."""
    asked = {q.id: q for q in survey.for_category(category)}
    out: dict[str, int] = {}
    for qid, value in answers.items():
        question = asked.get(qid)
        if question is None:
            raise AnswerError(f"answers.{qid}", f"question {qid!r} is not asked for {category.value} tickets")
        low, high = question.bounds()
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            expected = "a rating from 1 to 5" if question.kind == "rating" else "yes (1) or no (0)"
            raise AnswerError(f"answers.{qid}", f"{qid}: expected {expected}")
        out[qid] = value
    return out
