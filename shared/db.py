"""Database plumbing each service uses for its own database: engine, sessions, aware timestamps, migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy.exc
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so Alembic migrations are the same on PostgreSQL and SQLite.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


class AwareDateTime(TypeDecorator[datetime]):
    """Stores instants in UTC and gives them back timezone-aware, on SQLite too (which keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime refused: {value.isoformat()}")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An async engine; SQLite gets WAL and a busy timeout so an API and a worker can share the file."""
    if is_sqlite(url):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def make_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any error (never a half-written record)."""
    async with sessions() as session, session.begin():
        yield session


async def create_schema(engine: AsyncEngine, metadata: MetaData) -> None:
    """Create missing tables (tests and the embedded SQLite default); production runs Alembic."""
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)


def upgrade_database(url: str, migrations_dir: Path, revision: str = "head") -> None:
    """Run a service's Alembic migrations (its `migrations/` folder) up to `revision`."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, revision)


def downgrade_database(url: str, migrations_dir: Path, revision: str = "base") -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", url)
    command.downgrade(config, revision)


def run_alembic_env(target_metadata: MetaData) -> None:
    """The body of every service's `migrations/env.py`: online migrations over an async engine."""
    import asyncio

    from alembic import context

    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("sqlalchemy.url is not set for the migration")

    def run(connection: Any) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=is_sqlite(url),  # SQLite alters tables by copying them
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = make_engine(url)
        async with engine.connect() as connection:
            await connection.run_sync(run)
            await connection.commit()
        await engine.dispose()

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(main())


# SQLSTATE classes of a database that is away for a while, not of a bad statement: connection exceptions (08),
# operator intervention (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now), insufficient
# resources (53), and a serialization failure or deadlock (40001, 40P01) that a retry resolves.
TRANSIENT_SQLSTATES = ("08", "57P", "53", "40001", "40P01")
TRANSIENT_HINTS = ("database is locked", "database is busy", "shutting down", "connection", "terminat", "timeout")


def is_transient(error: BaseException) -> bool:
    """Whether `error` says the database (or the network to it) is unavailable for now, so the same work will
    succeed later: a PostgreSQL restart or failover, a refused connection, a locked SQLite file. Such an error is
    never the event's fault: a consumer retries it without giving the event up."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionError | TimeoutError):
            return True
        if isinstance(current, sqlalchemy.exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, sqlalchemy.exc.InterfaceError):
            return True  # the DB-API's own connection-level failure
        if isinstance(current, sqlalchemy.exc.OperationalError) and any(
            hint in str(current).lower() for hint in TRANSIENT_HINTS
        ):
            return True  # not every OperationalError: SQLite's "no such table" is a bug, not an outage
        for holder in (current, getattr(current, "orig", None)):
            state = getattr(holder, "sqlstate", None) or getattr(holder, "pgcode", None)
            if isinstance(state, str) and state.startswith(TRANSIENT_SQLSTATES):
                return True
        current = current.__cause__ or current.__context__
    return False
