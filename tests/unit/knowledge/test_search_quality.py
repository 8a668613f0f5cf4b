"""Search quality on the shipped evaluation set (SQLite FTS5 backend): recall@3 of the 50 agent queries.

The floor is 0.94: the Q&As and queries were written from the regulation and common customer
questions before the ranking was tuned, and the search reaches 0.98 on them (49 of 50; the miss,
师傅说好今天来结果没来, is made only of words that name no topic, and is counted as a need). 0.94
leaves room for two more queries to drop out of the top 3 under a ranking or dictionary change;
switching the branch synonyms off (煤气/燃气, 交费/缴费) gives 0.92 and fails it (second test).
"""

from __future__ import annotations

import pytest

from services.knowledge.bootstrap import KnowledgeService
from services.knowledge.evaluation import load_faq, load_queries, recall_at
from services.knowledge.handlers import Context
from services.knowledge.search import SearchEngine
from services.knowledge.text import Segmenter, Synonyms

pytestmark = pytest.mark.unit
RECALL_AT_3_FLOOR = 0.94


def context(service: KnowledgeService, search: SearchEngine | None = None) -> Context:
    return Context(
        clock=service.clock, settings=service.knowledge, search=search or service.search, zone_of=service.zone_of
    )


def test_the_shipped_set_has_200_answers_and_50_queries() -> None:
    from services.knowledge.evaluation import FAQ
    from services.knowledge.faq import FaqRow, read_faq

    rows = read_faq(FAQ)
    assert len(rows) == 200 and all(isinstance(r, FaqRow) for r in rows)
    titles = {r.fields.title for r in rows if isinstance(r, FaqRow)}
    queries = load_queries()
    assert len(queries) == 50 and all(q.expected <= titles for q in queries)


async def test_recall_at_3_stays_above_the_floor(service: KnowledgeService) -> None:
    ctx = context(service)
    assert await load_faq(service.sessions, "demo", ctx) == 200
    evaluation = await recall_at(service.sessions, "demo", ctx, k=3)
    print(f"recall@3 = {evaluation.recall:.2f} ({evaluation.found}/{evaluation.queries}); misses: {evaluation.misses}")  # noqa: T201
    assert evaluation.recall >= RECALL_AT_3_FLOOR, evaluation.misses


async def test_without_synonyms_the_floor_is_not_reached(service: KnowledgeService) -> None:
    # the floor measures something: callers say 煤气, 交费, 没气, and the articles do not
    bare = SearchEngine(segmenter=Segmenter())
    bare._synonyms["demo"] = Synonyms()
    ctx = context(service, bare)
    await load_faq(service.sessions, "demo", ctx)
    evaluation = await recall_at(service.sessions, "demo", ctx, k=3)
    assert evaluation.recall < RECALL_AT_3_FLOOR
