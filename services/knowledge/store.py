"""The knowledge service's own tables (articles, versions, review notes, feedback, needs, search rows) and queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import AwareDateTime, service_metadata
from shared.outbox import OutboxMixin
from shared.policy.knowledge import VersionStatus

SERVICE = "knowledge"


class Base(DeclarativeBase):
    metadata = service_metadata()


class Outbox(OutboxMixin, Base):
    pass


class Article(Base):
    """One article: who owns it, which version is live and which one is in the works."""

    __tablename__ = "articles"

    article_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    branch: Mapped[str] = mapped_column(String(128), index=True)
    group_wide: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_unit: Mapped[str | None] = mapped_column(String(128), index=True)
    owner_division: Mapped[str | None] = mapped_column(String(128), index=True)
    live_version: Mapped[int | None] = mapped_column(Integer)
    working_version: Mapped[int | None] = mapped_column(Integer)  # draft, submitted or approved
    retired_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    retired_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime())


class ArticleVersion(Base):
    """The content of one version and where it stands in the workflow."""

    __tablename__ = "article_versions"
    __table_args__ = (UniqueConstraint("article_id", "version", name="uq_article_versions_article_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(ForeignKey("articles.article_id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32))
    subtype: Mapped[str | None] = mapped_column(String(32))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    attachments: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)  # links: name, url
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # uploaded files (bytes in storage)
    review_by: Mapped[date | None] = mapped_column(Date)
    author_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    published_at: Mapped[datetime | None] = mapped_column(AwareDateTime())


class ReviewNote(Base):
    """Every workflow step of a version, with who took it and the notes or reason they wrote."""

    __tablename__ = "review_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(128))
    actor_role: Mapped[str] = mapped_column(String(32))
    notes: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(AwareDateTime())


class Feedback(Base):
    """An agent's verdict on an article used on a ticket; one per agent, ticket and article (the latest wins)."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("article_id", "ticket_id", "agent_id", name="uq_feedback_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    branch: Mapped[str] = mapped_column(String(128))
    ticket_id: Mapped[str] = mapped_column(String(128))
    agent_id: Mapped[str] = mapped_column(String(128))
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(AwareDateTime())


class KnowledgeNeed(Base):
    """A missing answer (需求): searches that found nothing, or a unit's request, counted per branch and text."""

    __tablename__ = "knowledge_needs"
    __table_args__ = (UniqueConstraint("branch", "normalized", name="uq_knowledge_needs_text"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    branch: Mapped[str] = mapped_column(String(128))
    normalized: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(16))  # search (found nothing) or unit (submitted)
    count: Mapped[int] = mapped_column(Integer, default=1)
    submitted_by_unit: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open")  # open or answered
    answered_by_article: Mapped[str | None] = mapped_column(String(64))
    first_at: Mapped[datetime] = mapped_column(AwareDateTime())
    last_at: Mapped[datetime] = mapped_column(AwareDateTime())


class SearchDocument(Base):
    """The live version of each published article as search sees it (both backends).

    `words` is the jieba-segmented text (space-separated) and `grams` its character bigrams; the
    backends index them: PostgreSQL a weighted tsvector plus a pg_trgm index, SQLite FTS5 tables.
    """

    __tablename__ = "search_documents"
    __table_args__ = (Index("ix_search_documents_scope", "branch", "group_wide"),)

    article_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rowkey: Mapped[int] = mapped_column(Integer, unique=True)  # the FTS5 rowid on SQLite
    branch: Mapped[str] = mapped_column(String(128))
    group_wide: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(32))
    subtype: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    title_words: Mapped[str] = mapped_column(Text)
    words: Mapped[str] = mapped_column(Text)
    grams: Mapped[str] = mapped_column(Text)
    fuzzy_text: Mapped[str] = mapped_column(Text)  # title and tags, for pg_trgm
    snippet: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    review_by: Mapped[date | None] = mapped_column(Date)
    published_at: Mapped[datetime] = mapped_column(AwareDateTime())


# --------------------------------------------------------------------------- queries


async def get_article(session: AsyncSession, article_id: str, *, for_update: bool = False) -> Article | None:
    query = select(Article).where(Article.article_id == article_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def get_version(session: AsyncSession, article_id: str, version: int) -> ArticleVersion | None:
    query = select(ArticleVersion).where(ArticleVersion.article_id == article_id, ArticleVersion.version == version)
    return (await session.scalars(query)).first()


async def versions_of(session: AsyncSession, article_id: str) -> Sequence[ArticleVersion]:
    query = select(ArticleVersion).where(ArticleVersion.article_id == article_id).order_by(ArticleVersion.version)
    return (await session.scalars(query)).all()


async def notes_of(session: AsyncSession, article_id: str) -> Sequence[ReviewNote]:
    query = select(ReviewNote).where(ReviewNote.article_id == article_id).order_by(ReviewNote.id)
    return (await session.scalars(query)).all()


async def next_rowkey(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(SearchDocument.rowkey), 0))) or 0) + 1


async def list_articles(
    session: AsyncSession,
    *,
    branch: str,
    owner_unit: str | None = None,
    owner_division: str | None = None,
    status: VersionStatus | None = None,
    stale_before: date | None = None,
    live_only: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> Sequence[tuple[Article, ArticleVersion]]:
    """Articles of a branch with their current version (the working one if any, else the live one)."""
    current: ColumnElement[Any] = func.coalesce(Article.working_version, Article.live_version)
    if stale_before is not None or live_only or status is VersionStatus.PUBLISHED:
        # what agents read: the live version, even while a newer one is being written
        current = Article.live_version.expression
    query = (
        select(Article, ArticleVersion)
        .join(ArticleVersion, (ArticleVersion.article_id == Article.article_id) & (ArticleVersion.version == current))
        .where(Article.branch == branch)
    )
    if owner_unit is not None:
        query = query.where(Article.owner_unit == owner_unit)
    if owner_division is not None:
        query = query.where(Article.owner_division == owner_division)
    if status is not None:
        query = query.where(ArticleVersion.status == status.value)
    if stale_before is not None:
        query = query.where(ArticleVersion.review_by.is_not(None), ArticleVersion.review_by < stale_before)
    if stale_before is not None or live_only:
        query = query.where(Article.retired_at.is_(None))
    query = query.order_by(Article.updated_at.desc(), Article.article_id).limit(limit).offset(offset)
    return [(a, v) for a, v in (await session.execute(query)).all()]


async def review_queue(
    session: AsyncSession, *, branch: str, division: str | None, status: VersionStatus
) -> Sequence[tuple[Article, ArticleVersion]]:
    """Working versions waiting on a reviewer: submitted ones for a division, approved ones for the center."""
    query = (
        select(Article, ArticleVersion)
        .join(
            ArticleVersion,
            (ArticleVersion.article_id == Article.article_id) & (ArticleVersion.version == Article.working_version),
        )
        .where(Article.branch == branch, ArticleVersion.status == status.value)
        .order_by(ArticleVersion.updated_at)
    )
    if division is not None:
        query = query.where(Article.owner_division == division)
    return [(a, v) for a, v in (await session.execute(query)).all()]


async def find_need(session: AsyncSession, branch: str, normalized: str) -> KnowledgeNeed | None:
    query = select(KnowledgeNeed).where(KnowledgeNeed.branch == branch, KnowledgeNeed.normalized == normalized)
    return (await session.scalars(query)).first()


async def top_needs(session: AsyncSession, branch: str, limit: int) -> Sequence[KnowledgeNeed]:
    query = (
        select(KnowledgeNeed)
        .where(KnowledgeNeed.branch == branch, KnowledgeNeed.status == "open")
        .order_by(KnowledgeNeed.count.desc(), KnowledgeNeed.last_at.desc())
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def find_feedback(session: AsyncSession, article_id: str, ticket_id: str, agent_id: str) -> Feedback | None:
    query = select(Feedback).where(
        Feedback.article_id == article_id, Feedback.ticket_id == ticket_id, Feedback.agent_id == agent_id
    )
    return (await session.scalars(query)).first()


async def least_helpful(session: AsyncSession, branch: str, *, min_votes: int, limit: int) -> list[dict[str, object]]:
    """Published articles with at least `min_votes` verdicts, the lowest helpful share first."""
    helpful = func.sum(func.cast(Feedback.helpful, Integer))
    votes = func.count(Feedback.id)
    query = (
        select(Feedback.article_id, helpful.label("helpful"), votes.label("votes"), SearchDocument.title)
        .join(SearchDocument, SearchDocument.article_id == Feedback.article_id)
        .where(Feedback.branch == branch)
        .group_by(Feedback.article_id, SearchDocument.title)
        .having(votes >= min_votes)
        .order_by((helpful * 1.0 / votes).asc(), votes.desc())
        .limit(limit)
    )
    return [
        {"article_id": r.article_id, "title": r.title, "helpful": int(r.helpful or 0), "votes": int(r.votes)}
        for r in (await session.execute(query)).all()
    ]


async def visible_documents(session: AsyncSession, branch: str) -> Sequence[SearchDocument]:
    """Every searchable document of a branch (its own and the group-wide ones): exports and small scans."""
    query = select(SearchDocument).where(or_(SearchDocument.branch == branch, SearchDocument.group_wide.is_(True)))
    return (await session.scalars(query.order_by(SearchDocument.article_id))).all()
