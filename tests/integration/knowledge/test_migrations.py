"""The knowledge migration on PostgreSQL: up with pg_trgm and the GIN indexes, down to nothing, up again."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from services.knowledge.bootstrap import MIGRATIONS, migrate
from shared.db import downgrade_database, make_engine


async def _indexes(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT indexname FROM pg_indexes WHERE tablename = 'search_documents'")
            )
            return {r[0] for r in rows}
    finally:
        await engine.dispose()


async def test_up_down_up(fresh_database_url: str) -> None:
    await asyncio.to_thread(migrate, fresh_database_url)
    assert {"ix_search_documents_tsv", "ix_search_documents_gram_tsv", "ix_search_documents_fuzzy"} <= await _indexes(
        fresh_database_url
    )
    await asyncio.to_thread(downgrade_database, fresh_database_url, MIGRATIONS)
    assert await _indexes(fresh_database_url) == set()
    await asyncio.to_thread(migrate, fresh_database_url)
    assert "ix_search_documents_tsv" in await _indexes(fresh_database_url)
