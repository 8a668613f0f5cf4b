"""The outbound migrations on PostgreSQL build exactly the schema the models describe."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from alembic.config import Config

from services.outbound.bootstrap import MIGRATIONS
from shared.db import upgrade_database

pytestmark = pytest.mark.integration


async def test_the_migrations_match_the_models(fresh_database_url: str) -> None:
    await asyncio.to_thread(upgrade_database, fresh_database_url, MIGRATIONS)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", fresh_database_url)
    await asyncio.to_thread(command.check, config)  # raises when the models and the migrations differ
