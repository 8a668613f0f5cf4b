"""Alembic environment of the knowledge service's database."""

from services.knowledge.store import Base
from shared.db import run_alembic_env

run_alembic_env(Base.metadata)
