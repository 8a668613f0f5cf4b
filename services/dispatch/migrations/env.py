"""Alembic environment of the dispatch database."""

from services.dispatch.store import Base
from shared.db import run_alembic_env

run_alembic_env(Base.metadata)
