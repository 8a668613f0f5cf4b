"""The shipped search evaluation set: 200 gas-hotline Q&As and 50 agent queries with their expected answers.

`recall_at(k)` imports the Q&As into an empty knowledge database, runs every query as an agent
would (with the call's category) and counts the queries whose expected answer (any of the
`|`-separated titles) is among the first k hits.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.knowledge.faq import import_faq, read_faq
from services.knowledge.handlers import Context

EVAL_DIR = Path(__file__).parent / "data" / "eval"
FAQ = EVAL_DIR / "faq.csv"
QUERIES = EVAL_DIR / "queries.csv"


@dataclass(frozen=True)
class Query:
    text: str
    category: str | None
    expected: frozenset[str]


@dataclass
class Evaluation:
    k: int
    queries: int = 0
    found: int = 0
    misses: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.found / self.queries if self.queries else 0.0


def load_queries(path: Path = QUERIES) -> list[Query]:
    with path.open(encoding="utf-8") as handle:
        return [
            Query(row["query"], row["category"] or None, frozenset(row["expected"].split("|")))
            for row in csv.DictReader(handle)
        ]


async def load_faq(sessions: async_sessionmaker[AsyncSession], branch: str, ctx: Context) -> int:
    rows = read_faq(FAQ)
    async with sessions() as session, session.begin():
        report = await import_faq(session, branch, rows, ctx)
    if report.rejected:
        raise ValueError(f"the shipped FAQ has rejected rows: {report.rejected[:3]}")
    return len(report.imported)


async def recall_at(sessions: async_sessionmaker[AsyncSession], branch: str, ctx: Context, k: int = 3) -> Evaluation:
    evaluation = Evaluation(k=k)
    for query in load_queries():
        async with sessions() as session:
            results = await ctx.search.search(
                session,
                branch=branch,
                query=query.text,
                now=ctx.clock.now(),
                zone=ctx.zone_of(branch),
                category=query.category,
                limit=k,
            )
        titles = [hit.title for hit in results.hits[:k]]
        evaluation.queries += 1
        if query.expected & set(titles):
            evaluation.found += 1
        else:
            evaluation.misses.append((query.text, titles))
    return evaluation
