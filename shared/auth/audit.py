"""Append-only audit log: a SQLAlchemy model mixin each service maps to its own table."""

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, BigInteger, DateTime, Integer, String, event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from shared.auth.deps import SecureRouter, require_roles
from shared.auth.principal import Principal, ensure_branch
from shared.auth.roles import Role
from shared.http.types import Instant


class AuditAction(StrEnum):
    """Actions the shared component records; services add their own strings beside these."""

    REVEAL = "reveal"
    VERIFICATION_PASSED = "verification_passed"
    VERIFICATION_FAILED = "verification_failed"
    VERIFICATION_LOCKED = "verification_locked"
    ACCOUNT_QUERY = "account_query"


class AppendOnlyError(RuntimeError):
    """An audit record was about to be updated or deleted."""


class AuditRecordMixin:
    """Columns of an audit record. A service maps it: `class Audit(AuditRecordMixin, Base)`.

    Who (subject, role, token id), what (action, field, outcome, detail), which ticket or
    customer, when, and why (reason) — RULES.md §6: every reveal is logged with who, when, why.
    Never put personal data itself in a record: name the field, not its value.
    """

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    service: Mapped[str] = mapped_column(String(40))
    branch: Mapped[str] = mapped_column(String(40), index=True)
    subject: Mapped[str] = mapped_column(String(120), index=True)
    role: Mapped[str] = mapped_column(String(40))
    token_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(60), index=True)
    ticket_id: Mapped[str | None] = mapped_column(String(64), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(64))
    field: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(String(500))
    outcome: Mapped[str] = mapped_column(String(40), default="ok")
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


def _refuse_change(mapper: Mapper[Any], connection: Any, target: Any) -> None:
    raise AppendOnlyError(f"{type(target).__name__} is append-only")


# Mapper events on the unmapped mixin reach every service's mapped audit class.
event.listen(AuditRecordMixin, "before_update", _refuse_change, propagate=True)
event.listen(AuditRecordMixin, "before_delete", _refuse_change, propagate=True)

R = TypeVar("R", bound=AuditRecordMixin)


def _aware(at: datetime) -> datetime:
    # SQLite hands back naive datetimes; every instant in this product is aware (UTC stored)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


class AuditLog(Generic[R]):
    """Record and query one service's audit table; there is deliberately no update/delete."""

    def __init__(self, model: type[R], service: str) -> None:
        self.model = model
        self.service = service

    async def record(
        self,
        session: AsyncSession,
        *,
        principal: Principal,
        action: str,
        at: datetime,
        ticket_id: str | None = None,
        customer_id: str | None = None,
        field: str | None = None,
        reason: str | None = None,
        outcome: str = "ok",
        detail: dict[str, Any] | None = None,
    ) -> R:
        """Add one record to the session (flushed, not committed: the caller's transaction)."""
        if at.tzinfo is None:
            raise ValueError("audit instants must be timezone-aware")
        entry = self.model()
        entry.at = at.astimezone(UTC)
        entry.service = self.service
        entry.branch = principal.branch
        entry.subject = principal.subject
        entry.role = principal.role.value
        entry.token_id = principal.token_id
        entry.action = str(action)
        entry.ticket_id = ticket_id
        entry.customer_id = customer_id
        entry.field = field
        entry.reason = reason
        entry.outcome = outcome
        entry.detail = detail
        session.add(entry)
        await session.flush()
        return entry

    async def query(
        self,
        session: AsyncSession,
        *,
        branch: str,
        ticket_id: str | None = None,
        subject: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[R]:
        """Records of one branch, newest first, filtered."""
        model: Any = self.model
        stmt = select(self.model).where(model.branch == branch)
        if ticket_id is not None:
            stmt = stmt.where(model.ticket_id == ticket_id)
        if subject is not None:
            stmt = stmt.where(model.subject == subject)
        if action is not None:
            stmt = stmt.where(model.action == action)
        if since is not None:
            stmt = stmt.where(model.at >= _aware(since).astimezone(UTC))
        if until is not None:
            stmt = stmt.where(model.at < _aware(until).astimezone(UTC))
        stmt = stmt.order_by(model.at.desc(), model.id.desc()).limit(limit).offset(offset)
        rows = (await session.scalars(stmt)).all()
        for row in rows:
            row.at = _aware(row.at)
        return rows


class AuditRecordOut(BaseModel):
    """One audit record as the auditor sees it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    service: str
    branch: str
    subject: str
    role: str
    token_id: str | None
    action: str
    ticket_id: str | None
    customer_id: str | None
    field: str | None
    reason: str | None
    outcome: str
    detail: dict[str, Any] | None


class AuditPage(BaseModel):
    records: list[AuditRecordOut]
    limit: int
    offset: int


SessionDependency = Callable[..., AsyncIterator[AsyncSession]]


def audit_router(log: AuditLog[Any], session: SessionDependency) -> SecureRouter:
    """`GET /api/v1/audit` for auditors, scoped to their branch; read-only by construction."""
    router = SecureRouter(prefix="/api/v1/audit", tags=["audit"])

    @router.get("", response_model=AuditPage)
    async def list_audit_records(
        principal: Annotated[Principal, require_roles(Role.AUDITOR)],
        db: Annotated[AsyncSession, Depends(session)],
        branch: str | None = None,
        ticket_id: str | None = None,
        subject: str | None = None,
        action: str | None = None,
        since: Instant | None = None,
        until: Instant | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> AuditPage:
        if branch is not None:
            ensure_branch(principal, branch)
        rows = await log.query(
            db,
            branch=principal.branch,
            ticket_id=ticket_id,
            subject=subject,
            action=action,
            since=since,
            until=until,
            limit=limit,
            offset=offset,
        )
        return AuditPage(records=[AuditRecordOut.model_validate(r) for r in rows], limit=limit, offset=offset)

    return router
