"""Use cases of agents and the improvement loop (优化): search on a call, feedback, knowledge needs, FAQ import."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge import store
from services.knowledge.handlers.workflow import (
    Context,
    _copy_fields,
    _drafted,
    _emit,
    _load_for,
    _new_version,
    _note,
    _publish,
)
from services.knowledge.schemas import ArticleFields, FeedbackCreate, NeedCreate
from services.knowledge.search import SearchResults
from services.knowledge.store import Article, Feedback, KnowledgeNeed
from services.knowledge.text import normalise
from shared.auth import Principal, Role
from shared.errors import Invalid
from shared.events import ArticleFeedbackRecorded
from shared.policy.knowledge import Action, VersionStatus

# --------------------------------------------------------------------------- search and the improvement loop


async def search(
    session: AsyncSession, principal: Principal, query: str, ctx: Context, *, category: str | None, limit: int
) -> tuple[SearchResults, bool]:
    """Published articles for an agent on a call; a search that finds nothing is counted as a need."""
    now = ctx.clock.now()
    results = await ctx.search.search(
        session,
        branch=principal.branch,
        query=query,
        now=now,
        zone=ctx.zone_of(principal.branch),
        category=category,
        limit=limit,
    )
    recorded = False
    if not results.hits and normalise(query):
        await count_need(session, principal.branch, query, source="search", now=now)
        recorded = True
    if ctx.metrics is not None:
        outcome = "empty" if not results.hits else "fuzzy" if results.fuzzy_used else "fulltext"
        ctx.metrics.searches.labels(outcome).inc()
    return results, recorded


async def count_need(
    session: AsyncSession,
    branch: str,
    text: str,
    *,
    source: str,
    now: datetime,
    unit: str | None = None,
    note: str = "",
) -> KnowledgeNeed:
    key = normalise(text)[:200]
    need = await store.find_need(session, branch, key)
    if need is None:
        need = KnowledgeNeed(
            branch=branch,
            normalized=key,
            text=text.strip()[:500],
            source=source,
            count=1,
            submitted_by_unit=unit,
            note=note,
            status="open",
            first_at=now,
            last_at=now,
        )
        session.add(need)
    else:
        need.count += 1
        need.last_at = now
        need.status = "open"
        if unit and not need.submitted_by_unit:
            need.submitted_by_unit = unit
        if note:
            need.note = note
    await session.flush()
    return need


async def submit_need(session: AsyncSession, principal: Principal, command: NeedCreate, ctx: Context) -> KnowledgeNeed:
    """§11(八): a unit (or its division) reports a knowledge need the center should answer."""
    unit = principal.unit if principal.role is Role.UNIT_HANDLER else None
    return await count_need(
        session, principal.branch, command.text, source="unit", now=ctx.clock.now(), unit=unit, note=command.note
    )


async def give_feedback(
    session: AsyncSession, principal: Principal, article_id: str, command: FeedbackCreate, ctx: Context
) -> Feedback:
    """An agent marks an article helpful or not on a ticket; a second verdict on the same ticket replaces the first."""
    article = await _load_for(session, principal, article_id)
    if article.live_version is None or article.retired_at is not None:
        raise Invalid.on("body.article_id", "only a published article can be rated")
    now = ctx.clock.now()
    feedback = await store.find_feedback(session, article_id, command.ticket_id, principal.subject)
    if feedback is None:
        feedback = Feedback(article_id=article_id, ticket_id=command.ticket_id, agent_id=principal.subject)
        session.add(feedback)
    feedback.version = article.live_version
    feedback.branch = principal.branch
    feedback.helpful = command.helpful
    feedback.comment = command.comment
    feedback.at = now
    payload = ArticleFeedbackRecorded(
        version=article.live_version,
        agent_id=principal.subject,
        ticket_id=command.ticket_id,
        helpful=command.helpful,
        comment=command.comment,
    )
    _emit(session, ctx, article, payload, at=now)
    await session.flush()
    if ctx.metrics is not None:
        ctx.metrics.feedback.labels(str(command.helpful).lower()).inc()
    return feedback


def stale_before(ctx: Context, branch: str) -> date:
    """Articles whose review-by date is before this day (in the branch's zone) are stale today."""
    return ctx.clock.now().astimezone(ctx.zone_of(branch)).date()


# --------------------------------------------------------------------------- import of an existing FAQ


async def import_article(
    session: AsyncSession,
    branch: str,
    fields: ArticleFields,
    ctx: Context,
    *,
    owner_unit: str | None = None,
    owner_division: str | None = None,
    group_wide: bool = False,
) -> Article:
    """An answer of an FAQ already in use goes live as version 1 (it was reviewed where it came from)."""
    now = ctx.clock.now()
    importer = Principal(subject="faq-import", role=Role.CENTER_SUPERVISOR, branch=branch)
    article = Article(
        article_id=f"KB-{uuid.uuid4().hex[:10].upper()}",
        branch=branch,
        group_wide=group_wide,
        owner_unit=owner_unit,
        owner_division=owner_division,
        live_version=None,
        working_version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(article)
    version = _new_version(article, 1, importer, now)
    _copy_fields(version, fields)
    version.status = VersionStatus.PUBLISHED.value
    session.add(version)
    await session.flush()
    _emit(session, ctx, article, _drafted(article, version, importer, imported=True), at=now)
    published = await _publish(session, article, version, importer, ctx, now)
    _note(session, article, 1, Action.PUBLISH, importer, "imported from an existing FAQ", now)
    _emit(session, ctx, article, published, at=now)
    return article
