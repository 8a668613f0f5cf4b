"""Search for agents on a call: one interface, two backends (PostgreSQL full text + pg_trgm, SQLite FTS5).

Both backends index the same jieba-segmented words and character bigrams and return candidates
with a raw relevance; ranking (relevance, how much of the question an article covers, category,
freshness, staleness) is computed here once, so both give the same results contract.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any, ClassVar, Protocol

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge.store import ArticleVersion, SearchDocument, next_rowkey
from services.knowledge.text import (
    Segmenter,
    Synonyms,
    gram_overlap,
    load_synonyms,
    ngrams,
    normalise,
    plain_text,
    snippet,
)
from shared.policy.knowledge import freshness, is_stale

CANDIDATES = 50  # how many candidates a backend returns before the common ranking
MIN_COVERAGE = 0.3  # an article must cover at least this share of the question's words
# a fuzzy candidate must have most of the question's characters, and some of its character pairs
# (a one-character typo in a three-character word, 燃汽表 for 燃气表, keeps 2 of 3 characters, no pair)
MIN_CHAR_OVERLAP = 0.6
MIN_PAIR_OVERLAP = 0.3
CATEGORY_BOOST = 1.3  # the agent picked the call's category: articles of it come first
STALE_PENALTY = 0.9  # past its review-by date: still found, flagged, ranked a little lower


@dataclass(frozen=True)
class Candidate:
    article_id: str
    relevance: float
    fuzzy: bool


@dataclass(frozen=True)
class SearchHit:
    article_id: str
    version: int
    title: str
    snippet: str
    category: str
    subtype: str | None
    branch: str
    group_wide: bool
    tags: list[str]
    score: float
    matched_by: str  # fulltext or fuzzy
    stale: bool
    review_by: date | None
    published_at: datetime


@dataclass(frozen=True)
class SearchResults:
    query: str
    words: list[str]
    hits: list[SearchHit]
    fuzzy_used: bool


class SearchBackend(Protocol):
    """What a database must do for search: keep its index rows in step and return candidates."""

    async def index(self, session: AsyncSession, document: SearchDocument) -> None: ...

    async def unindex(self, session: AsyncSession, document: SearchDocument) -> None: ...

    async def fulltext(self, session: AsyncSession, branch: str, words: Sequence[str]) -> list[Candidate]: ...

    async def fuzzy(self, session: AsyncSession, branch: str, query: str, grams: Sequence[str]) -> list[Candidate]: ...


def _fts5_phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


# bm25 with the title weighted 4x; the two statements differ only in their FTS5 table
_FTS_WORDS = (
    "SELECT d.article_id, -bm25(search_fts, 4.0, 1.0) AS relevance FROM search_fts "
    "JOIN search_documents d ON d.rowkey = search_fts.rowid "
    "WHERE search_fts MATCH :match AND (d.branch = :branch OR d.group_wide) ORDER BY relevance DESC LIMIT :limit"
)
_FTS_GRAMS = (
    "SELECT d.article_id, -bm25(search_grams) AS relevance FROM search_grams "
    "JOIN search_documents d ON d.rowkey = search_grams.rowid "
    "WHERE search_grams MATCH :match AND (d.branch = :branch OR d.group_wide) ORDER BY relevance DESC LIMIT :limit"
)


class SqliteSearch:
    """FTS5 over the segmented words (bm25, the title weighted 4x) and over the bigrams (the n-gram fallback)."""

    async def index(self, session: AsyncSession, document: SearchDocument) -> None:
        await self.unindex(session, document)
        await session.execute(
            text("INSERT INTO search_fts(rowid, title_words, words) VALUES (:k, :t, :w)"),
            {"k": document.rowkey, "t": document.title_words, "w": document.words},
        )
        await session.execute(
            text("INSERT INTO search_grams(rowid, grams) VALUES (:k, :g)"), {"k": document.rowkey, "g": document.grams}
        )

    async def unindex(self, session: AsyncSession, document: SearchDocument) -> None:
        await session.execute(text("DELETE FROM search_fts WHERE rowid = :k"), {"k": document.rowkey})
        await session.execute(text("DELETE FROM search_grams WHERE rowid = :k"), {"k": document.rowkey})

    async def _match(self, session: AsyncSession, statement: str, branch: str, terms: Sequence[str]) -> list[Any]:
        if not terms:
            return []
        match = " OR ".join(_fts5_phrase(t) for t in terms)
        rows = await session.execute(text(statement), {"match": match, "branch": branch, "limit": CANDIDATES})
        return list(rows.all())

    async def fulltext(self, session: AsyncSession, branch: str, words: Sequence[str]) -> list[Candidate]:
        rows = await self._match(session, _FTS_WORDS, branch, words)
        return [Candidate(r.article_id, float(r.relevance), False) for r in rows]

    async def fuzzy(self, session: AsyncSession, branch: str, query: str, grams: Sequence[str]) -> list[Candidate]:
        rows = await self._match(session, _FTS_GRAMS, branch, sorted(set(grams)))
        return [Candidate(r.article_id, float(r.relevance), True) for r in rows]


def _tsquery(terms: Sequence[str], weight: str = "") -> str:
    suffix = f":{weight}" if weight else ""
    return " | ".join("'" + t.replace("\\", "").replace("'", "''") + "'" + suffix for t in terms)


_PG_WORDS = (
    "SELECT article_id, ts_rank(tsv, q, 1) AS relevance FROM search_documents, to_tsquery('simple', :q) q "
    "WHERE tsv @@ q AND (branch = :branch OR group_wide) ORDER BY relevance DESC LIMIT :limit"
)
_PG_GRAMS = (
    "SELECT article_id, ts_rank(gram_tsv, q, 1) AS relevance FROM search_documents, to_tsquery('simple', :q) q "
    "WHERE gram_tsv @@ q AND (branch = :branch OR group_wide) ORDER BY relevance DESC LIMIT :limit"
)

# A word in more than this share of the articles (燃气 in a gas company's) does not pick candidates:
# ranking every article that holds it would cost a scan; it still counts in the coverage score.
COMMON_SHARE = 0.05
STATS_SECONDS = 300.0


class PostgresSearch:
    """A weighted tsvector (title A, body B) with a GIN index; fallback: character n-grams and pg_trgm.

    The planner's own statistics of the tsvector columns (pg_stats.most_common_elems, kept by
    ANALYZE) say which words and characters are common: candidates are picked by the others, and
    only when a question holds nothing else by its common words (in titles) or all its common
    characters together.
    """

    _common: ClassVar[dict[str, dict[str, float]]] = {}
    _common_at: ClassVar[float] = float("-inf")

    async def _common_in(self, session: AsyncSession, column: str) -> dict[str, float]:
        now = time.monotonic()
        if now - PostgresSearch._common_at > STATS_SECONDS:
            rows = await session.execute(
                text(
                    "SELECT attname, most_common_elems::text::text[] AS words, most_common_elem_freqs AS shares "
                    "FROM pg_stats WHERE tablename = 'search_documents' AND attname IN ('tsv', 'gram_tsv')"
                )
            )
            PostgresSearch._common = {
                r.attname: {
                    w: float(f) for w, f in zip(r.words or [], r.shares or [], strict=False) if f > COMMON_SHARE
                }
                for r in rows.all()
            }
            PostgresSearch._common_at = now
        return PostgresSearch._common.get(column, {})

    async def index(self, session: AsyncSession, document: SearchDocument) -> None:
        await session.execute(
            text(
                "UPDATE search_documents SET "
                "tsv = setweight(to_tsvector('simple', title_words), 'A') "
                "|| setweight(to_tsvector('simple', words), 'B'), "
                "gram_tsv = to_tsvector('simple', grams) WHERE article_id = :id"
            ),
            {"id": document.article_id},
        )

    async def unindex(self, session: AsyncSession, document: SearchDocument) -> None:
        return None  # the index columns live on the row itself

    async def _ranked(self, session: AsyncSession, statement: str, query: str, branch: str) -> list[Any]:
        rows = await session.execute(text(statement), {"q": query, "branch": branch, "limit": CANDIDATES})
        return list(rows.all())

    async def fulltext(self, session: AsyncSession, branch: str, words: Sequence[str]) -> list[Candidate]:
        if not words:
            return []
        common = await self._common_in(session, "tsv")
        selective = [w for w in words if w not in common]
        query = _tsquery(selective) if selective else _tsquery(words, weight="A")
        rows = await self._ranked(session, _PG_WORDS, query, branch)
        return [Candidate(r.article_id, float(r.relevance), False) for r in rows]

    async def fuzzy(self, session: AsyncSession, branch: str, query: str, grams: Sequence[str]) -> list[Candidate]:
        if not grams:
            return []
        common = await self._common_in(session, "gram_tsv")
        rare = sorted({g for g in grams if g not in common})
        found: dict[str, float] = {}
        if rare:
            found.update(
                (r.article_id, float(r.relevance))
                for r in await self._ranked(session, _PG_GRAMS, _tsquery(rare), branch)
            )
        frequent = sorted({g for g in grams if g in common})
        if len(found) < 3 and frequent:
            # a typo leaves only common characters in place (燃汽表: 燃, 表): all of them together
            together = " & ".join(_tsquery([g]) for g in frequent)
            for r in await self._ranked(session, _PG_GRAMS, together, branch):
                found.setdefault(r.article_id, float(r.relevance))
        # pg_trgm, where the database's locale gives CJK characters trigrams (a UTF-8 LC_CTYPE)
        if await session.scalar(text("SELECT cardinality(show_trgm(:raw))"), {"raw": query}):
            rows = await session.execute(
                text(
                    "SELECT article_id, word_similarity(:raw, fuzzy_text) AS relevance FROM search_documents "
                    "WHERE :raw <% fuzzy_text AND (branch = :branch OR group_wide) ORDER BY relevance DESC LIMIT :limit"
                ),
                {"raw": query, "branch": branch, "limit": CANDIDATES},
            )
            for r in rows.all():
                found[r.article_id] = max(found.get(r.article_id, 0.0), float(r.relevance))
        return [Candidate(article_id, relevance, True) for article_id, relevance in found.items()]


def backend_for(dialect: str) -> SearchBackend:
    return PostgresSearch() if dialect == "postgresql" else SqliteSearch()


@dataclass
class SearchEngine:
    """Segmentation, synonyms per branch, a backend, and the ranking both backends share."""

    segmenter: Segmenter = field(default_factory=Segmenter)
    config_dirs: Sequence[Path] = ()
    _synonyms: dict[str, Synonyms] = field(default_factory=dict)

    def synonyms(self, branch: str) -> Synonyms:
        if branch not in self._synonyms:
            self._synonyms[branch] = load_synonyms(branch, self.config_dirs)
        return self._synonyms[branch]

    # -- indexing -------------------------------------------------------------------------

    async def publish(
        self, session: AsyncSession, version: ArticleVersion, *, branch: str, group_wide: bool, at: datetime
    ) -> None:
        """Make `version` the searchable one of its article (replacing the previous live version)."""
        backend = backend_for(session.get_bind().dialect.name)
        body = plain_text(version.body)
        tags = " ".join(version.tags)
        document = await session.get(SearchDocument, version.article_id)
        if document is None:
            document = SearchDocument(article_id=version.article_id, rowkey=await next_rowkey(session))
            session.add(document)
        document.branch = branch
        document.group_wide = group_wide
        document.version = version.version
        document.category = version.category
        document.subtype = version.subtype
        document.title = version.title
        document.title_words = " ".join(self.segmenter.words(f"{version.title} {tags}"))
        document.words = " ".join(self.segmenter.words(body))
        document.grams = " ".join(dict.fromkeys(ngrams(f"{version.title} {tags} {body}")))
        document.fuzzy_text = normalise(f"{version.title} {tags}")
        document.snippet = snippet(body)
        document.tags = list(version.tags)
        document.review_by = version.review_by
        document.published_at = at
        await session.flush()
        await backend.index(session, document)

    async def withdraw(self, session: AsyncSession, article_id: str) -> None:
        document = await session.get(SearchDocument, article_id)
        if document is None:
            return
        await backend_for(session.get_bind().dialect.name).unindex(session, document)
        await session.execute(delete(SearchDocument).where(SearchDocument.article_id == article_id))

    # -- searching ------------------------------------------------------------------------

    async def search(
        self,
        session: AsyncSession,
        *,
        branch: str,
        query: str,
        now: datetime,
        zone: tzinfo,
        category: str | None = None,
        limit: int = 10,
    ) -> SearchResults:
        backend = backend_for(session.get_bind().dialect.name)
        synonyms = self.synonyms(branch)
        asked = []
        for word in self.segmenter.words(query):
            if word not in asked:
                asked.append(word)
        groups = [set(synonyms.expand([w])) for w in asked]
        words = synonyms.expand(asked)
        candidates = await backend.fulltext(session, branch, words)
        documents = await self._documents(session, [c.article_id for c in candidates])
        hits = self._rank(candidates, documents, groups, None, category, now, zone)
        fuzzy_used = False
        if len(hits) < min(limit, 3):
            # partial words and typos: characters and bigrams (and pg_trgm on PostgreSQL)
            grams = ngrams(query)
            fuzzy = await backend.fuzzy(session, branch, normalise(query), grams)
            seen = {h.article_id for h in hits}
            fuzzy = [c for c in fuzzy if c.article_id not in seen]
            documents = await self._documents(session, [c.article_id for c in fuzzy])
            extra = self._rank(fuzzy, documents, groups, set(grams), category, now, zone)
            fuzzy_used = bool(extra)
            hits.extend(extra)
        return SearchResults(query=query, words=words, hits=hits[:limit], fuzzy_used=fuzzy_used)

    async def _documents(self, session: AsyncSession, ids: list[str]) -> dict[str, SearchDocument]:
        if not ids:
            return {}
        rows = await session.scalars(select(SearchDocument).where(SearchDocument.article_id.in_(ids)))
        return {d.article_id: d for d in rows}

    def _rank(
        self,
        candidates: list[Candidate],
        documents: dict[str, SearchDocument],
        groups: list[set[str]],
        grams: set[str] | None,
        category: str | None,
        now: datetime,
        zone: tzinfo,
    ) -> list[SearchHit]:
        if not candidates:
            return []
        top = max(c.relevance for c in candidates) or 1.0
        hits: list[tuple[float, SearchHit]] = []
        for candidate in candidates:
            document = documents.get(candidate.article_id)
            if document is None:
                continue
            if grams is not None:
                char_share, pair_share = gram_overlap(grams, set(document.grams.split()))
                short = sum(1 for g in grams if len(g) == 2) <= 2
                if char_share < MIN_CHAR_OVERLAP or (pair_share < MIN_PAIR_OVERLAP and not short):
                    continue
                coverage = (char_share + pair_share) / 2
            else:
                have = set(document.title_words.split()) | set(document.words.split())
                covered = sum(1 for group in groups if group & have)
                coverage = covered / len(groups) if groups else 0.0
                if coverage < MIN_COVERAGE:
                    continue
            stale = is_stale(document.review_by, now, zone)
            score = 0.6 * (candidate.relevance / top) + 0.4 * coverage
            if category is not None and document.category == category:
                score *= CATEGORY_BOOST
            score *= 0.8 + 0.2 * freshness(document.published_at, now)
            if stale:
                score *= STALE_PENALTY
            if candidate.fuzzy:
                score *= 0.5  # a fuzzy match never outranks a word match
            hits.append(
                (
                    score,
                    SearchHit(
                        article_id=document.article_id,
                        version=document.version,
                        title=document.title,
                        snippet=document.snippet,
                        category=document.category,
                        subtype=document.subtype,
                        branch=document.branch,
                        group_wide=document.group_wide,
                        tags=list(document.tags),
                        score=round(score, 4),
                        matched_by="fuzzy" if candidate.fuzzy else "fulltext",
                        stale=stale,
                        review_by=document.review_by,
                        published_at=document.published_at,
                    ),
                )
            )
        hits.sort(key=lambda pair: (-pair[0], pair[1].article_id))
        return [hit for _, hit in hits]
