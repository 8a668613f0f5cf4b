"""Intake's Alembic migrations build exactly the schema of its models on PostgreSQL, and go down again."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from services.intake.bootstrap import MIGRATIONS, migrate
from services.intake.store import Base
from shared.db import downgrade_database, make_engine


async def test_the_migrations_match_the_models_and_reverse_cleanly(fresh_database_url: str) -> None:
    await asyncio.to_thread(migrate, fresh_database_url)
    engine = make_engine(fresh_database_url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
        assert diff == []
        await asyncio.to_thread(downgrade_database, fresh_database_url, MIGRATIONS)
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        assert set(tables) <= {"alembic_version"}
    finally:
        await engine.dispose()
