"""Knowledge search latency (p50/p99) on PostgreSQL at 10,000 and 100,000 articles, as JSON.

    python bench/knowledge_search.py                     # 10,000 then 100,000 articles, 100 searches each
    python bench/knowledge_search.py --sizes 10000 --searches 100

Articles are generated from the shipped evaluation set (services/knowledge/data/eval): each one
is a Q&A of the set with a place, a time and a few words of another answer mixed in, segmented
once by the product's own segmenter, so the index holds realistic gas-hotline words. They are
bulk-loaded as search rows of a fresh database of the PostgreSQL server ($DATABASE_URL, else the
local `hotline infra` server, started if needed and stopped afterwards when this run started it),
indexed by the same SQL as publishing, then searched through `SearchEngine.search` (the agent's
path: segmentation, synonyms, the GIN tsvector query, the fuzzy fallback when needed, ranking)
with the 50 evaluation queries in turn, one at a time. Bounded in size and time; loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotline.infra.harness import ensure_postgres  # noqa: E402
from hotline.infra.postgres import PostgresServer  # noqa: E402
from hotline.infra.settings import InfraSettings  # noqa: E402
from services.knowledge.bootstrap import migrate  # noqa: E402
from services.knowledge.evaluation import FAQ, load_queries  # noqa: E402
from services.knowledge.faq import FaqRow, read_faq  # noqa: E402
from services.knowledge.search import SearchEngine  # noqa: E402
from services.knowledge.text import Segmenter, ngrams, normalise, plain_text, snippet  # noqa: E402
from shared.db import make_engine, make_sessions  # noqa: E402

PLACES = ["青秀区", "兴宁区", "西乡塘区", "江南区", "良庆区", "邕宁区", "武鸣区", "民族大道", "朝阳路", "金湖小区"]
TIMES = ["早上", "中午", "晚上", "夜间", "周末", "节假日", "采暖季", "夏季"]


async def admin(url: str, statement: str) -> None:
    server = make_url(url)
    connection = await asyncpg.connect(
        host=server.host, port=server.port, user=server.username, password=server.password, database=server.database
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def templates() -> list[dict[str, Any]]:
    """The 200 Q&As, each segmented once (title words, body words, n-grams), for cheap variations."""
    segmenter = Segmenter()
    out = []
    for row in read_faq(FAQ):
        if not isinstance(row, FaqRow):
            raise SystemExit(f"the shipped FAQ has a rejected row: {row}")
        body = plain_text(row.fields.body)
        tags = " ".join(row.fields.tags)
        out.append(
            {
                "title": row.fields.title,
                "category": row.fields.category.value,
                "subtype": row.fields.subtype.value if row.fields.subtype else None,
                "title_words": segmenter.words(f"{row.fields.title} {tags}"),
                "words": segmenter.words(body),
                "grams": list(dict.fromkeys(ngrams(f"{row.fields.title} {tags} {body}"))),
                "snippet": snippet(body),
                "tags": row.fields.tags,
            }
        )
    return out


def generated(n: int, start: int, pool: list[dict[str, Any]], rng: random.Random) -> list[tuple[Any, ...]]:
    now = datetime.now(UTC)
    rows = []
    for i in range(start, start + n):
        base, other = rng.choice(pool), rng.choice(pool)
        place, when = rng.choice(PLACES), rng.choice(TIMES)
        extra = rng.sample(other["words"], k=min(4, len(other["words"])))
        title = f"{base['title']}（{place}{when}）"
        rows.append(
            (
                f"KB-BENCH{i:07d}",
                i + 1,
                "demo",
                rng.random() < 0.05,
                1,
                base["category"],
                base["subtype"],
                title,
                " ".join([*base["title_words"], place, when]),
                " ".join([*base["words"], *extra]),
                " ".join(dict.fromkeys([*base["grams"], *ngrams(place + when)])),
                normalise(f"{title} {' '.join(base['tags'])}"),
                base["snippet"],
                json.dumps(base["tags"], ensure_ascii=False),
                (now + timedelta(days=rng.randint(-60, 365))).date(),
                now - timedelta(days=rng.randint(0, 720)),
            )
        )
    return rows


COLUMNS = (
    "article_id, rowkey, branch, group_wide, version, category, subtype, title, title_words, words, grams, "
    "fuzzy_text, snippet, tags, review_by, published_at"
)


COPY_FROM_STAGING = (
    "INSERT INTO search_documents (" + COLUMNS + ", tsv, gram_tsv) SELECT " + COLUMNS + ", "  # noqa: S608 - constants
    "setweight(to_tsvector('simple', title_words), 'A') || setweight(to_tsvector('simple', words), 'B'), "
    "to_tsvector('simple', grams) FROM staging"
)


async def load(url: str, rows: list[tuple[Any, ...]]) -> float:
    """Bulk-load search rows with the publishing SQL's tsvectors; returns the seconds it took.

    The search indexes are dropped for the load and rebuilt from their own definitions after it
    (a GIN index built in one pass is far cheaper than one updated row by row).
    """
    server = make_url(url)
    started = time.perf_counter()
    connection = await asyncpg.connect(
        host=server.host, port=server.port, user=server.username, password=server.password, database=server.database
    )
    columns = [c.strip() for c in COLUMNS.split(",")]
    try:
        indexes = await connection.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'search_documents' "
            "AND indexdef LIKE '%USING gin%'"
        )
        for index in indexes:
            await connection.execute(f'DROP INDEX "{index["indexname"]}"')
        await connection.execute("CREATE TEMP TABLE staging (LIKE search_documents INCLUDING DEFAULTS)")
        await connection.copy_records_to_table("staging", records=rows, columns=columns)
        await connection.execute(COPY_FROM_STAGING)
        await connection.execute("DROP TABLE staging")
        for index in indexes:
            await connection.execute(index["indexdef"])
        await connection.execute("ANALYZE search_documents")
    finally:
        await connection.close()
    return time.perf_counter() - started


async def measure(url: str, searches: int) -> dict[str, Any]:
    engine = make_engine(url)
    sessions = make_sessions(engine)
    search = SearchEngine()
    queries = load_queries()
    zone = ZoneInfo("Asia/Shanghai")
    latencies: list[float] = []
    fuzzy = empty = 0
    try:
        for i in range(searches + 10):
            query = queries[i % len(queries)]
            started = time.perf_counter()
            async with sessions() as session:
                results = await search.search(
                    session,
                    branch="demo",
                    query=query.text,
                    now=datetime.now(UTC),
                    zone=zone,
                    category=query.category,
                    limit=10,
                )
            elapsed = (time.perf_counter() - started) * 1000
            if i >= 10:  # the first ten warm the pool and the caches
                latencies.append(elapsed)
                fuzzy += results.fuzzy_used
                empty += not results.hits
    finally:
        await engine.dispose()
    latencies.sort()
    return {
        "searches": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 1),
        "max_ms": round(latencies[-1], 1),
        "fuzzy_fallbacks": fuzzy,
        "empty_results": empty,
    }


async def run(sizes: list[int], searches: int, seed: int) -> dict[str, Any]:
    settings = InfraSettings()
    server_url, started = ensure_postgres(settings, database="postgres")
    database = f"bench_knowledge_{uuid.uuid4().hex[:8]}"
    await admin(server_url, f'CREATE DATABASE "{database}"')
    url = make_url(server_url).set(database=database).render_as_string(hide_password=False)
    rng = random.Random(seed)
    results: list[dict[str, Any]] = []
    try:
        await asyncio.to_thread(migrate, url)
        pool = templates()
        loaded = 0
        for size in sorted(sizes):
            rows = generated(size - loaded, loaded, pool, rng)
            seconds = await load(url, rows)
            loaded = size
            results.append({"articles": size, "load_seconds": round(seconds, 1), **await measure(url, searches)})
    finally:
        await admin(server_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        if started:
            PostgresServer(settings).stop()
    return {
        "benchmark": "knowledge-search",
        "backend": "postgresql",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()},
        "results": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--searches", type=int, default=100)
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args(argv)
    if any(size < 1 or size > 200_000 for size in args.sizes) or not 1 <= args.searches <= 2_000:
        print("knowledge_search: sizes 1-200000, searches 1-2000", file=sys.stderr)  # noqa: T201
        return 2
    report = asyncio.run(run(args.sizes, args.searches, args.seed))
    print(json.dumps(report, ensure_ascii=False, indent=2))  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
