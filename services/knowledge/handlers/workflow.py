"""Use cases of writers and reviewers: read, write, submit, review, publish, new versions, retire.

Each handler runs inside the caller's transaction, decides with `shared.policy.knowledge`, and
stages its event in the outbox of the same transaction (nothing is half-written, nothing lost).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge import store
from services.knowledge.handlers.errors import StepRefused, decide
from services.knowledge.schemas import ArticleCreate, ArticleFields
from services.knowledge.search import SearchEngine
from services.knowledge.settings import KnowledgeMetrics, KnowledgeSettings
from services.knowledge.store import Article, ArticleVersion, Outbox, ReviewNote
from services.knowledge.text import normalise
from shared.auth import Principal, Role
from shared.clock import Clock
from shared.errors import Invalid, NotFound, OutOfScope
from shared.events import (
    ArticleApproved,
    ArticleDrafted,
    ArticleDraftEdited,
    ArticlePublished,
    ArticleRetired,
    ArticleSentBack,
    ArticleSubmitted,
    KnowledgePayload,
    new_event,
)
from shared.outbox import stage
from shared.policy.knowledge import (
    Action,
    IllegalTransition,
    Relation,
    VersionStatus,
    allowed_actions,
    is_stale,
    relation_of,
)
from shared.storage import AttachmentStorage, check_attachment, sha256_hex

SERVICE = "knowledge"
WORKING = (VersionStatus.DRAFT, VersionStatus.SUBMITTED, VersionStatus.APPROVED)
# actions on the version in the works; the others act on the live (published) version
ON_WORKING = frozenset({Action.EDIT, Action.SUBMIT, Action.APPROVE, Action.SEND_BACK, Action.PUBLISH})


@dataclass
class Context:
    """What every use case needs besides the session: the clock, settings, search and each branch's zone."""

    clock: Clock
    settings: KnowledgeSettings
    search: SearchEngine
    zone_of: Callable[[str], tzinfo]
    correlation_id: str = field(default_factory=lambda: f"req-{uuid.uuid4().hex[:12]}")
    metrics: KnowledgeMetrics | None = None
    storage: AttachmentStorage | None = None


@dataclass(frozen=True)
class ArticleView:
    """An article as one person may see it: the version shown, the live one, notes, and their actions."""

    article: Article
    current: ArticleVersion
    live: ArticleVersion | None
    notes: Sequence[ReviewNote]
    allowed: frozenset[Action]
    stale: bool


# --------------------------------------------------------------------------- helpers


def relation(principal: Principal, article: Article) -> Relation:
    return relation_of(
        principal.role,
        principal_branch=principal.branch,
        principal_unit=principal.unit,
        principal_division=principal.division,
        article_branch=article.branch,
        owner_unit=article.owner_unit,
        owner_division=article.owner_division,
    )


def _emit(session: AsyncSession, ctx: Context, article: Article, payload: KnowledgePayload, *, at: datetime) -> None:
    event = new_event(
        payload,
        article_id=article.article_id,
        branch=article.branch,
        producer=SERVICE,
        correlation_id=ctx.correlation_id,
        occurred_at=at,
    )
    stage(session, Outbox, [event], ctx.clock)


def _note(
    session: AsyncSession,
    article: Article,
    version: int,
    action: Action,
    principal: Principal,
    notes: str,
    at: datetime,
) -> None:
    session.add(
        ReviewNote(
            article_id=article.article_id,
            version=version,
            action=action.value,
            actor_id=principal.subject,
            actor_role=principal.role.value,
            notes=notes,
            at=at,
        )
    )


async def _versions(session: AsyncSession, article: Article) -> tuple[ArticleVersion | None, ArticleVersion | None]:
    working = await store.get_version(session, article.article_id, article.working_version or 0)
    live = await store.get_version(session, article.article_id, article.live_version or 0)
    return working, live


def _allowed(
    article: Article, working: ArticleVersion | None, live: ArticleVersion | None, rel: Relation
) -> frozenset[Action]:
    if article.retired_at is not None:
        return frozenset()
    allowed: set[Action] = set()
    if working is not None:
        allowed |= allowed_actions(VersionStatus(working.status), rel)
    if live is not None:
        allowed |= allowed_actions(VersionStatus(live.status), rel, has_pending=working is not None)
    return frozenset(allowed)


async def _load_for(
    session: AsyncSession, principal: Principal, article_id: str, *, for_update: bool = False
) -> Article:
    article = await store.get_article(session, article_id, for_update=for_update)
    if article is None or not _may_see(principal, article):
        raise NotFound(f"article {article_id} not found")
    return article


def _may_see(principal: Principal, article: Article) -> bool:
    if relation(principal, article) is not Relation.OTHER:
        return True
    # anyone else sees only what is published: in the branch, or everywhere when group-wide
    published = article.live_version is not None and article.retired_at is None
    return published and (article.branch == principal.branch or article.group_wide)


def _copy_fields(version: ArticleVersion, fields: ArticleFields) -> None:
    version.title = fields.title
    version.body = fields.body
    version.category = fields.category.value
    version.subtype = fields.subtype.value if fields.subtype else None
    version.tags = list(dict.fromkeys(fields.tags))
    version.attachments = [{"name": a.name, "url": str(a.url)} for a in fields.attachments]
    version.review_by = fields.review_by


# --------------------------------------------------------------------------- reading


async def view_article(session: AsyncSession, principal: Principal, article_id: str, ctx: Context) -> ArticleView:
    article = await _load_for(session, principal, article_id)
    working, live = await _versions(session, article)
    rel = relation(principal, article)
    if rel is Relation.OTHER:
        working = None  # drafts are for their writers and reviewers only
    current = working or live
    assert current is not None  # an article always has a version
    stale = live is not None and is_stale(live.review_by, ctx.clock.now(), ctx.zone_of(article.branch))
    notes = await store.notes_of(session, article_id) if rel is not Relation.OTHER else ()
    return ArticleView(article, current, live, notes, _allowed(article, working, live, rel), stale)


async def version_of(session: AsyncSession, principal: Principal, article_id: str, version: int) -> ArticleVersion:
    article = await _load_for(session, principal, article_id)
    found = await store.get_version(session, article_id, version)
    if found is None:
        raise NotFound(f"version {version} of article {article_id} not found")
    if relation(principal, article) is Relation.OTHER and found.status not in (
        VersionStatus.PUBLISHED,
        VersionStatus.SUPERSEDED,
    ):
        raise NotFound(f"version {version} of article {article_id} not found")
    return found


async def list_versions(session: AsyncSession, principal: Principal, article_id: str) -> Sequence[ArticleVersion]:
    article = await _load_for(session, principal, article_id)
    versions = await store.versions_of(session, article_id)
    if relation(principal, article) is Relation.OTHER:
        shown = (VersionStatus.PUBLISHED, VersionStatus.SUPERSEDED)
        versions = [v for v in versions if v.status in shown]
    return versions


def version_fields(version: ArticleVersion) -> dict[str, Any]:
    return {
        "title": version.title,
        "body": version.body,
        "category": version.category,
        "subtype": version.subtype,
        "tags": list(version.tags),
        "review_by": version.review_by,
    }


def own_scope(principal: Principal) -> tuple[str | None, str | None]:
    """The (owner unit, owner division) filter of "my articles": a unit's own, a division's units', or all."""
    if principal.role is Role.UNIT_HANDLER:
        return principal.unit or "-", None
    if principal.role is Role.DIVISION_SUPERVISOR:
        return None, principal.division or "-"
    return None, None


# --------------------------------------------------------------------------- writing and the workflow


async def create_article(session: AsyncSession, principal: Principal, command: ArticleCreate, ctx: Context) -> Article:
    """A unit handler (for its unit) or a division supervisor (for itself or one of its units) starts an article."""
    owner_unit: str | None
    owner_division: str | None
    if principal.role is Role.UNIT_HANDLER:
        if not principal.unit:
            raise OutOfScope("a unit handler's token names no unit")
        if command.owner_unit not in (None, principal.unit):
            raise OutOfScope("a unit handler drafts only for its own unit")
        owner_unit, owner_division = principal.unit, principal.division
    elif principal.role is Role.DIVISION_SUPERVISOR:
        if not principal.division:
            raise OutOfScope("a division supervisor's token names no division")
        owner_unit, owner_division = command.owner_unit, principal.division
    else:
        # §11(三)(八): knowledge is collected by units and divisions; the center reviews and publishes it
        raise OutOfScope(f"role {principal.role.value} does not draft articles")
    now = ctx.clock.now()
    article = Article(
        article_id=f"KB-{uuid.uuid4().hex[:10].upper()}",
        branch=principal.branch,
        group_wide=command.group_wide,
        owner_unit=owner_unit,
        owner_division=owner_division,
        live_version=None,
        working_version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(article)
    version = _new_version(article, 1, principal, now)
    _copy_fields(version, command)
    session.add(version)
    _emit(session, ctx, article, _drafted(article, version, principal), at=now)
    await session.flush()
    return article


def _new_version(article: Article, number: int, principal: Principal, now: datetime) -> ArticleVersion:
    return ArticleVersion(
        article_id=article.article_id,
        version=number,
        status=VersionStatus.DRAFT.value,
        author_id=principal.subject,
        created_at=now,
        updated_at=now,
    )


def _drafted(article: Article, version: ArticleVersion, principal: Principal, imported: bool = False) -> ArticleDrafted:
    return ArticleDrafted(
        version=version.version,
        title=version.title,
        category=version.category,  # type: ignore[arg-type]
        subtype=version.subtype,  # type: ignore[arg-type]
        owner_unit=article.owner_unit,
        owner_division=article.owner_division,
        author_id=principal.subject,
        group_wide=article.group_wide,
        imported=imported,
    )


async def _target(
    session: AsyncSession, principal: Principal, article_id: str, action: Action
) -> tuple[Article, ArticleVersion, Relation, bool]:
    """The article (locked), the version the action acts on, the person's relation, whether a version is pending."""
    article = await _load_for(session, principal, article_id, for_update=True)
    working, live = await _versions(session, article)
    rel = relation(principal, article)
    if article.retired_at is not None:
        status = VersionStatus.RETIRED
        raise StepRefused(IllegalTransition(action, status, frozenset(), "the article is retired"))
    version = working if action in ON_WORKING and working is not None else (live or working)
    assert version is not None
    return article, version, rel, working is not None


async def _editable(session: AsyncSession, principal: Principal, article_id: str) -> tuple[Article, ArticleVersion]:
    """The article and its draft, when this person may edit it now (409 / 403 otherwise)."""
    article, version, rel, pending = await _target(session, principal, article_id, Action.EDIT)
    decide(Action.EDIT, VersionStatus(version.status), rel, has_pending=pending)
    return article, version


def _edited(session: AsyncSession, ctx: Context, article: Article, version: ArticleVersion, editor: str) -> None:
    now = ctx.clock.now()
    version.updated_at = article.updated_at = now
    edited = ArticleDraftEdited(version=version.version, editor_id=editor, title=version.title)
    _emit(session, ctx, article, edited, at=now)


async def edit_draft(
    session: AsyncSession, principal: Principal, article_id: str, fields: ArticleFields, ctx: Context
) -> Article:
    article, version = await _editable(session, principal, article_id)
    _copy_fields(version, fields)
    _edited(session, ctx, article, version, principal.subject)
    return article


async def add_file(
    session: AsyncSession,
    principal: Principal,
    article_id: str,
    *,
    filename: str,
    media_type: str,
    data: bytes,
    ctx: Context,
) -> dict[str, Any]:
    """Attach a checked file (PDF, PNG, JPEG, WebP) to the draft; its bytes go to storage, not the database."""
    article, version = await _editable(session, principal, article_id)
    problem = check_attachment(data, media_type, ctx.settings.max_attachment_bytes)
    if problem is not None:
        raise Invalid.on(f"body.{problem.field}", problem.message)
    if len(version.files) >= ctx.settings.max_attachments:
        raise Invalid.on("body.content_base64", f"an article holds at most {ctx.settings.max_attachments} files")
    if ctx.storage is None:
        raise Invalid.on("body.content_base64", "attachment storage is not configured")
    attachment_id = uuid.uuid4().hex
    key = f"{article.branch}/{article.article_id}/{attachment_id}"
    await ctx.storage.put(key, data, media_type)
    record = {
        "attachment_id": attachment_id,
        "filename": filename,
        "media_type": media_type.split(";", 1)[0].strip().lower(),
        "size_bytes": len(data),
        "sha256": sha256_hex(data),
        "storage_key": key,
    }
    version.files = [*version.files, record]  # a new list, so the JSON column is written
    _edited(session, ctx, article, version, principal.subject)
    return record


async def read_file(
    session: AsyncSession, principal: Principal, article_id: str, attachment_id: str, ctx: Context
) -> tuple[dict[str, Any], bytes]:
    """A file of a version the caller may see (agents: published ones only)."""
    for version in await list_versions(session, principal, article_id):
        for record in version.files:
            if record["attachment_id"] == attachment_id and ctx.storage is not None:
                return record, await ctx.storage.get(str(record["storage_key"]))
    raise NotFound(f"attachment {attachment_id} of article {article_id} not found")


async def take_step(
    session: AsyncSession, principal: Principal, article_id: str, action: Action, notes: str, ctx: Context
) -> Article:
    """Submit, approve, send back or publish the version in the works; new version or retire the live one."""
    article, version, rel, pending = await _target(session, principal, article_id, action)
    status = decide(action, VersionStatus(version.status), rel, has_pending=pending)
    now = ctx.clock.now()
    if action is Action.NEW_VERSION:
        return await _start_new_version(session, principal, article, version, ctx, now)
    if action is Action.RETIRE:
        if len(notes.strip()) < 2:
            raise Invalid.on("body.reason", "write why the article is retired")
        return await _retire(session, principal, article, notes, ctx, now)
    if action is Action.SEND_BACK and len(notes.strip()) < 2:
        raise Invalid.on("body.notes", "write what the writers must change")
    version.status = status.value
    version.updated_at = article.updated_at = now
    payload: KnowledgePayload
    if action is Action.SUBMIT:
        version.submitted_at = now
        payload = ArticleSubmitted(
            version=version.version, submitter_id=principal.subject, owner_division=article.owner_division
        )
    elif action is Action.APPROVE:
        version.approved_at = now
        payload = ArticleApproved(version=version.version, reviewer_id=principal.subject, notes=notes)
    elif action is Action.SEND_BACK:
        payload = ArticleSentBack(version=version.version, reviewer_id=principal.subject, notes=notes)
    else:
        payload = await _publish(session, article, version, principal, ctx, now)
    _note(session, article, version.version, action, principal, notes, now)
    _emit(session, ctx, article, payload, at=now)
    if ctx.metrics is not None:
        ctx.metrics.steps.labels(action.value).inc()
    return article


async def _publish(
    session: AsyncSession, article: Article, version: ArticleVersion, principal: Principal, ctx: Context, now: datetime
) -> ArticlePublished:
    previous = article.live_version
    if previous is not None:
        old = await store.get_version(session, article.article_id, previous)
        if old is not None:
            old.status = VersionStatus.SUPERSEDED.value
    if version.review_by is None:
        today = now.astimezone(ctx.zone_of(article.branch)).date()
        version.review_by = today + timedelta(days=ctx.settings.default_review_days)
    version.published_at = now
    article.live_version = version.version
    article.working_version = None
    await ctx.search.publish(session, version, branch=article.branch, group_wide=article.group_wide, at=now)
    await _answer_needs(session, article, version)
    return ArticlePublished(
        version=version.version,
        publisher_id=principal.subject,
        title=version.title,
        category=version.category,  # type: ignore[arg-type]
        subtype=version.subtype,  # type: ignore[arg-type]
        previous_version=previous,
        review_by=version.review_by,
    )


async def _answer_needs(session: AsyncSession, article: Article, version: ArticleVersion) -> None:
    # a need whose text the new article's title covers is marked answered
    need = await store.find_need(session, article.branch, normalise(version.title)[:200])
    if need is not None:
        need.status = "answered"
        need.answered_by_article = article.article_id


async def _start_new_version(
    session: AsyncSession, principal: Principal, article: Article, live: ArticleVersion, ctx: Context, now: datetime
) -> Article:
    number = max(v.version for v in await store.versions_of(session, article.article_id)) + 1
    version = _new_version(article, number, principal, now)
    for name in ("title", "body", "category", "subtype", "review_by"):
        setattr(version, name, getattr(live, name))
    version.tags = list(live.tags)
    version.attachments = list(live.attachments)
    version.files = list(live.files)  # the same stored files; a new upload adds to this version only
    session.add(version)
    article.working_version = number
    article.updated_at = now
    _note(session, article, number, Action.NEW_VERSION, principal, "", now)
    _emit(session, ctx, article, _drafted(article, version, principal), at=now)
    return article


async def _retire(
    session: AsyncSession, principal: Principal, article: Article, reason: str, ctx: Context, now: datetime
) -> Article:
    working, live = await _versions(session, article)
    for version in (working, live):
        if version is not None:
            version.status = VersionStatus.RETIRED.value
            version.updated_at = now
    article.retired_at = article.updated_at = now
    article.retired_reason = reason
    article.working_version = None
    await ctx.search.withdraw(session, article.article_id)
    number = (live or working).version  # type: ignore[union-attr]
    _note(session, article, number, Action.RETIRE, principal, reason, now)
    _emit(session, ctx, article, ArticleRetired(version=number, retired_by=principal.subject, reason=reason), at=now)
    return article
