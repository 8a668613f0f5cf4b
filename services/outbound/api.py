"""The outbound API: customers' opt-outs, the branch's templates, and the SMS routes of shared/sms."""

from __future__ import annotations

from typing import Annotated

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.outbound.handlers import OutboundContext, set_opt_out
from services.outbound.schemas import (
    DeliveryPublic,
    OptOutChange,
    OptOutPublic,
    TemplatesPublic,
    WebhookCreate,
    WebhookPublic,
)
from services.outbound.store import WebhookDelivery, WebhookSubscription
from services.outbound.webhooks import UnsafeUrl, check_url, new_secret
from shared.auth import Principal, Role, SecureRouter, require_roles
from shared.http.errors import ApiError
from shared.privacy import mask_phone

Staff = Annotated[Principal, require_roles(Role.AGENT, Role.CENTER_SUPERVISOR, Role.ADMIN)]
Admin = Annotated[Principal, require_roles(Role.CENTER_SUPERVISOR, Role.ADMIN)]
BranchAdmin = Annotated[Principal, require_roles(Role.ADMIN)]


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return sessions


def _context(request: Request) -> OutboundContext:
    ctx: OutboundContext = request.app.state.outbound
    return ctx


def build_router() -> SecureRouter:
    router = SecureRouter(prefix="/api/v1")

    @router.post("/customers/opt-out", response_model=OptOutPublic, tags=["customers"])
    async def change_opt_out(request: Request, principal: Staff, body: OptOutChange) -> OptOutPublic:
        """Record that the customer wants no status SMS (`opted_out: false` lifts it)."""
        ctx = _context(request)
        async with _sessions(request)() as session, session.begin():
            state = await set_opt_out(
                session, principal.branch, body.phone, body.opted_out, principal.subject, ctx.clock.now()
            )
        return OptOutPublic(phone=mask_phone(body.phone), opted_out=state)

    @router.get("/notices/templates", response_model=TemplatesPublic, tags=["templates"])
    async def templates(request: Request, principal: Admin) -> TemplatesPublic:
        """The branch's status-notice templates and the placeholders they may use."""
        notices = _context(request).notices.for_branch(principal.branch)
        return TemplatesPublic(
            branch=principal.branch,
            source=notices.source.name,
            hotline=notices.hotline,
            templates={
                table: {kind.value: text for kind, text in kinds.items()}
                for table, kinds in notices.templates.by_category.items()
            },
        )

    @router.post("/webhooks", response_model=WebhookPublic, status_code=201, tags=["webhooks"])
    async def subscribe(request: Request, principal: BranchAdmin, body: WebhookCreate) -> WebhookPublic:
        """Subscribe a URL; the response carries the signing secret, shown this once."""
        ctx = _context(request)
        try:
            url = check_url(body.url, allow_private=ctx.webhook_allow_private)
        except UnsafeUrl as problem:
            raise ApiError(
                422,
                "the webhook URL is refused",
                code="validation_error",
                fields=[{"field": "url", "message": str(problem)}],
            ) from None
        async with _sessions(request)() as session, session.begin():
            row = WebhookSubscription(
                branch=principal.branch,
                url=url,
                event_types=body.event_types,
                secret=new_secret(),
                personal_data=body.personal_data,
                active=True,
                created_at=ctx.clock.now(),
                created_by=principal.subject,
            )
            session.add(row)
            await session.flush()
            return _webhook(row, with_secret=True)

    @router.get("/webhooks", response_model=list[WebhookPublic], tags=["webhooks"])
    async def subscriptions(request: Request, principal: BranchAdmin) -> list[WebhookPublic]:
        async with _sessions(request)() as session:
            rows = await session.execute(
                select(WebhookSubscription).where(WebhookSubscription.branch == principal.branch)
            )
            return [_webhook(row) for row in rows.scalars()]

    @router.delete("/webhooks/{webhook_id}", status_code=204, tags=["webhooks"])
    async def unsubscribe(request: Request, principal: BranchAdmin, webhook_id: int) -> None:
        async with _sessions(request)() as session, session.begin():
            row = await _own(session, principal, webhook_id)
            row.active = False

    @router.get("/webhooks/{webhook_id}/deliveries", response_model=list[DeliveryPublic], tags=["webhooks"])
    async def deliveries(
        request: Request, principal: BranchAdmin, webhook_id: int, state: str | None = None
    ) -> list[DeliveryPublic]:
        """The delivery log, newest first."""
        async with _sessions(request)() as session:
            await _own(session, principal, webhook_id)
            query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == webhook_id)
            if state is not None:
                query = query.where(WebhookDelivery.state == state)
            rows = await session.execute(query.order_by(WebhookDelivery.id.desc()).limit(500))
            return [DeliveryPublic.model_validate(row, from_attributes=True) for row in rows.scalars()]

    @router.post(
        "/webhooks/{webhook_id}/deliveries/{delivery_id}/replay", response_model=DeliveryPublic, tags=["webhooks"]
    )
    async def replay(request: Request, principal: BranchAdmin, webhook_id: int, delivery_id: int) -> DeliveryPublic:
        """Send a delivery again (a failed one, or a delivered one the receiver lost)."""
        ctx = _context(request)
        async with _sessions(request)() as session, session.begin():
            await _own(session, principal, webhook_id)
            row = await session.get(WebhookDelivery, delivery_id)
            if row is None or row.subscription_id != webhook_id:
                raise ApiError(404, f"no delivery {delivery_id} of webhook {webhook_id}", code="not_found")
            row.state, row.attempts, row.next_attempt_at = "pending", 0, ctx.clock.now()
            result = DeliveryPublic.model_validate(row, from_attributes=True)
        if ctx.webhooks is not None:
            ctx.webhooks.notify()
        return result

    return router


def _webhook(row: WebhookSubscription, *, with_secret: bool = False) -> WebhookPublic:
    return WebhookPublic(
        id=row.id,
        url=row.url,
        event_types=list(row.event_types),
        personal_data=row.personal_data,
        active=row.active,
        created_at=row.created_at,
        secret=row.secret if with_secret else None,
    )


async def _own(session: AsyncSession, principal: Principal, webhook_id: int) -> WebhookSubscription:
    row = await session.get(WebhookSubscription, webhook_id)
    if row is None or row.branch != principal.branch:
        raise ApiError(404, f"no webhook {webhook_id} in branch {principal.branch}", code="not_found")
    return row
