"""The database is a real PostgreSQL: SQLAlchemy 2 async over asyncpg, and Alembic both ways."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import BigInteger, DateTime, String, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

MIGRATIONS = Path(__file__).parent / "migrations"


class Base(DeclarativeBase):
    pass


class WorkOrder(Base):
    __tablename__ = "work_orders"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


async def test_sqlalchemy_async_session_commits_rolls_back_and_enforces_constraints(fresh_database_url):
    engine = create_async_engine(fresh_database_url)
    try:
        async with engine.begin() as connection:
            server = await connection.scalar(text("SELECT version()"))
            assert server.startswith("PostgreSQL")
            await connection.run_sync(Base.metadata.create_all)
        sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
        received = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
        async with sessions.begin() as session:
            session.add(WorkOrder(number="GD-0001", received_at=received))
        async with sessions() as session:
            session.add(WorkOrder(number="GD-0002", received_at=received))
            await session.rollback()
        with pytest.raises(IntegrityError):
            async with sessions.begin() as session:
                session.add(WorkOrder(number="GD-0001", received_at=received))
        async with sessions() as session:
            rows = (await session.scalars(select(WorkOrder).order_by(WorkOrder.number))).all()
        assert [(row.number, row.received_at) for row in rows] == [("GD-0001", received)]
    finally:
        await engine.dispose()


def _alembic(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = url  # not a main option: no configparser interpolation of '%'
    return config


def _schema(url: str) -> dict[str, list[str]]:
    async def read() -> dict[str, list[str]]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:

                def columns(sync_connection) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
                    inspector = inspect(sync_connection)
                    return {
                        table: sorted(c["name"] for c in inspector.get_columns(table))
                        for table in inspector.get_table_names()
                    }

                return await connection.run_sync(columns)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_alembic_upgrade_and_downgrade_round_trip(fresh_database_url):
    config = _alembic(fresh_database_url)

    command.upgrade(config, "head")
    assert _schema(fresh_database_url) == {
        "alembic_version": ["version_num"],
        "call_records": ["branch", "caller", "id", "received_at"],
    }

    command.downgrade(config, "-1")
    assert _schema(fresh_database_url)["call_records"] == ["caller", "id", "received_at"]

    command.downgrade(config, "base")
    assert "call_records" not in _schema(fresh_database_url)

    command.upgrade(config, "head")
    assert "branch" in _schema(fresh_database_url)["call_records"]
