"""The knowledge API: routes only (parse, call a handler, present): articles, workflow, search, feedback, needs."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.knowledge import handlers, store
from services.knowledge.handlers import ArticleView, Context
from services.knowledge.schemas import (
    ArticleCreate,
    ArticlePublic,
    ArticleSummary,
    ArticleUpdate,
    DiffPublic,
    FeedbackCreate,
    FeedbackPublic,
    FilePublic,
    FileUpload,
    HelpfulnessPublic,
    ImprovementPublic,
    NeedCreate,
    NeedPublic,
    NotePublic,
    RetireRequest,
    SearchHitPublic,
    SearchPublic,
    StepRequest,
    VersionPublic,
    VersionSummary,
)
from services.knowledge.store import Article, ArticleVersion, KnowledgeNeed
from services.knowledge.text import diff_versions, render_markdown
from shared.auth import Principal, Role, SecureRouter, require_roles
from shared.errors import Invalid
from shared.http.deps import Session
from shared.http.responses import download
from shared.policy.categories import Category
from shared.policy.knowledge import Action, VersionStatus, is_stale

Reader = Annotated[
    Principal,
    require_roles(Role.AGENT, Role.UNIT_HANDLER, Role.DIVISION_SUPERVISOR, Role.CENTER_SUPERVISOR, Role.AUDITOR),
]
Writer = Annotated[Principal, require_roles(Role.UNIT_HANDLER, Role.DIVISION_SUPERVISOR)]
Reviewer = Annotated[Principal, require_roles(Role.UNIT_HANDLER, Role.DIVISION_SUPERVISOR, Role.CENTER_SUPERVISOR)]
Supervisor = Annotated[Principal, require_roles(Role.DIVISION_SUPERVISOR, Role.CENTER_SUPERVISOR)]
Agent = Annotated[Principal, require_roles(Role.AGENT, Role.CENTER_SUPERVISOR)]


def _context(request: Request) -> Context:
    state = request.app.state
    return Context(
        clock=state.clock,
        settings=state.knowledge_settings,
        search=state.search,
        zone_of=state.zone_of,
        correlation_id=request.headers.get("x-request-id") or f"req-{uuid.uuid4().hex[:12]}",
        metrics=getattr(state, "knowledge_metrics", None),
        storage=getattr(state, "storage", None),
    )


Ctx = Annotated[Context, Depends(_context)]


def _committed(request: Request) -> None:
    relay = getattr(request.app.state, "relay", None)
    if relay is not None:
        relay.notify()


# --------------------------------------------------------------------------- presenting


def _version_out(version: ArticleVersion) -> VersionPublic:
    return VersionPublic(
        version=version.version,
        status=version.status,
        title=version.title,
        body=version.body,
        body_html=render_markdown(version.body),
        category=version.category,
        subtype=version.subtype,
        tags=list(version.tags),
        attachments=list(version.attachments),
        files=[FilePublic(**{k: v for k, v in f.items() if k != "storage_key"}) for f in version.files],
        review_by=version.review_by,
        author_id=version.author_id,
        created_at=version.created_at,
        updated_at=version.updated_at,
        submitted_at=version.submitted_at,
        approved_at=version.approved_at,
        published_at=version.published_at,
    )


def _article_out(view: ArticleView) -> ArticlePublic:
    a = view.article
    return ArticlePublic(
        article_id=a.article_id,
        branch=a.branch,
        group_wide=a.group_wide,
        owner_unit=a.owner_unit,
        owner_division=a.owner_division,
        status=VersionStatus.RETIRED.value if a.retired_at else view.current.status,
        live_version=a.live_version,
        working_version=a.working_version,
        retired_at=a.retired_at,
        retired_reason=a.retired_reason,
        stale=view.stale,
        allowed_actions=sorted(action.value for action in view.allowed),
        current=_version_out(view.current),
        live=_version_out(view.live) if view.live is not None else None,
        notes=[
            NotePublic(
                version=n.version, action=n.action, actor_id=n.actor_id, actor_role=n.actor_role, notes=n.notes, at=n.at
            )
            for n in view.notes
        ],
    )


def _summary(article: Article, version: ArticleVersion, ctx: Context) -> ArticleSummary:
    stale = version.status == VersionStatus.PUBLISHED and is_stale(
        version.review_by, ctx.clock.now(), ctx.zone_of(article.branch)
    )
    return ArticleSummary(
        article_id=article.article_id,
        title=version.title,
        status=VersionStatus.RETIRED.value if article.retired_at else version.status,
        version=version.version,
        category=version.category,
        subtype=version.subtype,
        owner_unit=article.owner_unit,
        owner_division=article.owner_division,
        review_by=version.review_by,
        stale=stale,
        updated_at=article.updated_at,
    )


def _need_out(need: KnowledgeNeed) -> NeedPublic:
    return NeedPublic(
        need_id=need.id,
        text=need.text,
        source=need.source,
        count=need.count,
        submitted_by_unit=need.submitted_by_unit,
        note=need.note,
        status=need.status,
        first_at=need.first_at,
        last_at=need.last_at,
    )


# --------------------------------------------------------------------------- routes


def routers() -> list[SecureRouter]:
    router = SecureRouter(prefix="/api/v1")

    async def _view(session: AsyncSession, principal: Principal, article_id: str, ctx: Context) -> ArticlePublic:
        return _article_out(await handlers.view_article(session, principal, article_id, ctx))

    @router.post("/articles", response_model=ArticlePublic, status_code=201, tags=["authoring"])
    async def create_article(
        body: ArticleCreate, request: Request, session: Session, principal: Writer, ctx: Ctx
    ) -> ArticlePublic:
        async with session.begin():
            article = await handlers.create_article(session, principal, body, ctx)
        _committed(request)
        return await _view(session, principal, article.article_id, ctx)

    @router.get("/articles", response_model=list[ArticleSummary], tags=["authoring"])
    async def list_articles(
        request: Request,
        session: Session,
        principal: Reader,
        ctx: Ctx,
        status: Annotated[VersionStatus | None, Query()] = None,
        mine: Annotated[bool, Query(description="only the articles my unit or division owns")] = False,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[ArticleSummary]:
        unit, division = handlers.own_scope(principal) if mine else (None, None)
        if principal.role is Role.AGENT or principal.role is Role.AUDITOR:
            status = VersionStatus.PUBLISHED  # drafts are for their writers and reviewers only
        rows = await store.list_articles(
            session,
            branch=principal.branch,
            owner_unit=unit,
            owner_division=division,
            status=status,
            limit=limit,
            offset=offset,
        )
        return [_summary(a, v, ctx) for a, v in rows]

    @router.get("/articles/stale", response_model=list[ArticleSummary], tags=["authoring"])
    async def stale_articles(request: Request, session: Session, principal: Reviewer, ctx: Ctx) -> list[ArticleSummary]:
        """Published articles past their review-by date, for their owners (the center sees the branch's)."""
        unit, division = handlers.own_scope(principal)
        rows = await store.list_articles(
            session,
            branch=principal.branch,
            owner_unit=unit,
            owner_division=division,
            stale_before=handlers.stale_before(ctx, principal.branch),
            limit=200,
        )
        return [_summary(a, v, ctx) for a, v in rows]

    @router.get("/review-queue", response_model=list[ArticleSummary], tags=["review"])
    async def review_queue(request: Request, session: Session, principal: Supervisor, ctx: Ctx) -> list[ArticleSummary]:
        """A division's submitted versions of its units' articles; the center's approved versions to publish."""
        division = principal.division if principal.role is Role.DIVISION_SUPERVISOR else None
        waiting = VersionStatus.SUBMITTED if principal.role is Role.DIVISION_SUPERVISOR else VersionStatus.APPROVED
        rows = await store.review_queue(session, branch=principal.branch, division=division or None, status=waiting)
        return [_summary(a, v, ctx) for a, v in rows]

    @router.get("/articles/{article_id}", response_model=ArticlePublic, tags=["authoring", "search"])
    async def get_article(
        article_id: str, request: Request, session: Session, principal: Reader, ctx: Ctx
    ) -> ArticlePublic:
        return await _view(session, principal, article_id, ctx)

    @router.put("/articles/{article_id}/draft", response_model=ArticlePublic, tags=["authoring"])
    async def edit_draft(
        article_id: str, body: ArticleUpdate, request: Request, session: Session, principal: Writer, ctx: Ctx
    ) -> ArticlePublic:
        async with session.begin():
            await handlers.edit_draft(session, principal, article_id, body, ctx)
        _committed(request)
        return await _view(session, principal, article_id, ctx)

    def step_route(action: Action, path: str) -> None:
        async def step(
            article_id: str, body: StepRequest, request: Request, session: Session, principal: Reviewer, ctx: Ctx
        ) -> ArticlePublic:
            async with session.begin():
                await handlers.take_step(session, principal, article_id, action, body.notes, ctx)
            _committed(request)
            return await _view(session, principal, article_id, ctx)

        step.__name__ = f"{action.value}_article"
        step.__doc__ = f"{action.value.replace('_', ' ')} (409 with the status and allowed actions when not now)"
        router.add_api_route(
            f"/articles/{{article_id}}/{path}", step, methods=["POST"], response_model=ArticlePublic, tags=["review"]
        )

    for action, path in (
        (Action.SUBMIT, "submit"),
        (Action.APPROVE, "approve"),
        (Action.SEND_BACK, "send-back"),
        (Action.PUBLISH, "publish"),
        (Action.NEW_VERSION, "new-version"),
    ):
        step_route(action, path)

    @router.post("/articles/{article_id}/retire", response_model=ArticlePublic, tags=["review"])
    async def retire_article(
        article_id: str, body: RetireRequest, request: Request, session: Session, principal: Supervisor, ctx: Ctx
    ) -> ArticlePublic:
        async with session.begin():
            await handlers.take_step(session, principal, article_id, Action.RETIRE, body.reason, ctx)
        _committed(request)
        return await _view(session, principal, article_id, ctx)

    @router.post("/articles/{article_id}/files", response_model=FilePublic, status_code=201, tags=["authoring"])
    async def upload_file(
        article_id: str, body: FileUpload, request: Request, session: Session, principal: Writer, ctx: Ctx
    ) -> FilePublic:
        """Attach a PDF or image to the draft (base64 in JSON; the type must match the content)."""
        try:
            data = base64.b64decode(body.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise Invalid(
                "not base64", fields=[{"field": "body.content_base64", "message": "not valid base64"}]
            ) from None
        async with session.begin():
            record = await handlers.add_file(
                session,
                principal,
                article_id,
                filename=body.filename,
                media_type=body.media_type,
                data=data,
                ctx=ctx,
            )
        _committed(request)
        return FilePublic(**{k: v for k, v in record.items() if k != "storage_key"})

    @router.get("/articles/{article_id}/files/{attachment_id}", tags=["authoring", "search"])
    async def download_file(
        article_id: str, attachment_id: str, request: Request, session: Session, principal: Reader, ctx: Ctx
    ) -> Response:
        record, data = await handlers.read_file(session, principal, article_id, attachment_id, ctx)
        return download(data, str(record["media_type"]), attachment_id)

    @router.get("/articles/{article_id}/versions", response_model=list[VersionSummary], tags=["authoring"])
    async def list_versions(
        article_id: str, request: Request, session: Session, principal: Reader
    ) -> list[VersionSummary]:
        versions = await handlers.list_versions(session, principal, article_id)
        return [
            VersionSummary(
                version=v.version,
                status=v.status,
                title=v.title,
                author_id=v.author_id,
                updated_at=v.updated_at,
                published_at=v.published_at,
            )
            for v in versions
        ]

    @router.get("/articles/{article_id}/versions/{version}", response_model=VersionPublic, tags=["authoring"])
    async def get_version(
        article_id: str, version: int, request: Request, session: Session, principal: Reader
    ) -> VersionPublic:
        return _version_out(await handlers.version_of(session, principal, article_id, version))

    @router.get("/articles/{article_id}/diff", response_model=DiffPublic, tags=["authoring"])
    async def diff(
        article_id: str,
        request: Request,
        session: Session,
        principal: Reader,
        from_version: Annotated[int, Query(alias="from", ge=1)],
        to_version: Annotated[int, Query(alias="to", ge=1)],
    ) -> DiffPublic:
        """A readable diff between any two versions the caller may see."""
        old = await handlers.version_of(session, principal, article_id, from_version)
        new = await handlers.version_of(session, principal, article_id, to_version)
        result = diff_versions(
            handlers.version_fields(old), handlers.version_fields(new), f"v{from_version}", f"v{to_version}"
        )
        return DiffPublic(article_id=article_id, from_version=from_version, to_version=to_version, **result)

    @router.get("/search", response_model=SearchPublic, tags=["search"])
    async def search(
        request: Request,
        session: Session,
        principal: Reader,
        ctx: Ctx,
        q: Annotated[str, Query(min_length=1, max_length=200, description="the caller's question, as typed")],
        category: Annotated[Category | None, Query(description="the call's category: its articles rank first")] = None,
        limit: Annotated[int | None, Query(ge=1, le=50)] = None,
    ) -> SearchPublic:
        async with session.begin():
            results, recorded = await handlers.search(
                session,
                principal,
                q,
                ctx,
                category=category.value if category else None,
                limit=limit or ctx.settings.search_limit,
            )
        return SearchPublic(
            query=results.query,
            words=results.words,
            fuzzy_used=results.fuzzy_used,
            need_recorded=recorded,
            hits=[SearchHitPublic(**hit.__dict__) for hit in results.hits],
        )

    @router.post(
        "/articles/{article_id}/feedback", response_model=FeedbackPublic, status_code=201, tags=["improvement"]
    )
    async def feedback(
        article_id: str, body: FeedbackCreate, request: Request, session: Session, principal: Agent, ctx: Ctx
    ) -> FeedbackPublic:
        async with session.begin():
            given = await handlers.give_feedback(session, principal, article_id, body, ctx)
        _committed(request)
        return FeedbackPublic(
            article_id=given.article_id,
            version=given.version,
            ticket_id=given.ticket_id,
            helpful=given.helpful,
            comment=given.comment,
            at=given.at,
        )

    @router.post("/needs", response_model=NeedPublic, status_code=201, tags=["improvement"])
    async def submit_need(
        body: NeedCreate, request: Request, session: Session, principal: Writer, ctx: Ctx
    ) -> NeedPublic:
        async with session.begin():
            need = await handlers.submit_need(session, principal, body, ctx)
        return _need_out(need)

    @router.get("/improvement", response_model=ImprovementPublic, tags=["improvement"])
    async def improvement(
        request: Request,
        session: Session,
        principal: Supervisor,
        ctx: Ctx,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> ImprovementPublic:
        """The most-needed missing answers and the least helpful articles (优化)."""
        needs = await store.top_needs(session, principal.branch, limit)
        worst = await store.least_helpful(
            session, principal.branch, min_votes=ctx.settings.least_helpful_min_votes, limit=limit
        )
        return ImprovementPublic(
            needs=[_need_out(n) for n in needs],
            least_helpful=[
                HelpfulnessPublic(
                    article_id=str(w["article_id"]),
                    title=str(w["title"]),
                    helpful=int(str(w["helpful"])),
                    votes=int(str(w["votes"])),
                    helpful_share=round(int(str(w["helpful"])) / int(str(w["votes"])), 3),
                )
                for w in worst
            ],
        )

    return [router]
