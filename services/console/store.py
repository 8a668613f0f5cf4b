"""Browser sessions, the only thing the console keeps: who signed in, their tokens, CSRF token, language, extension."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, Text, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import AwareDateTime, service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()


class BrowserSession(Base):
    """One signed-in browser. The cookie holds a random id; only its SHA-256 is stored."""

    __tablename__ = "browser_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200), index=True)
    role: Mapped[str] = mapped_column(String(40))
    branch: Mapped[str] = mapped_column(String(128))
    unit: Mapped[str | None] = mapped_column(String(128), nullable=True)
    division: Mapped[str | None] = mapped_column(String(128), nullable=True)
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str | None] = mapped_column(Text, nullable=True)
    access_expires_at: Mapped[datetime] = mapped_column(AwareDateTime(timezone=True))
    csrf_token: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(16), nullable=True)
    extension: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(AwareDateTime(timezone=True), index=True)


def hash_cookie(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


@dataclass(frozen=True)
class NewSession:
    cookie: str  # goes to the browser once, never stored
    row: BrowserSession


def new_session(**fields: object) -> NewSession:
    cookie = secrets.token_urlsafe(32)
    row = BrowserSession(id_hash=hash_cookie(cookie), csrf_token=secrets.token_urlsafe(32), **fields)
    return NewSession(cookie, row)


async def session_by_cookie(db: AsyncSession, cookie: str, now: datetime) -> BrowserSession | None:
    row = await db.get(BrowserSession, hash_cookie(cookie))
    if row is None or row.expires_at <= now:
        return None
    return row


async def sessions_of(db: AsyncSession, subject: str) -> list[BrowserSession]:
    return list((await db.scalars(select(BrowserSession).where(BrowserSession.subject == subject))).all())


async def drop_session(db: AsyncSession, cookie: str) -> None:
    await db.execute(delete(BrowserSession).where(BrowserSession.id_hash == hash_cookie(cookie)))


async def drop_expired(db: AsyncSession, now: datetime) -> int:
    result = await db.execute(delete(BrowserSession).where(BrowserSession.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
