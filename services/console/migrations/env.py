"""Alembic environment of the console's database (browser sessions only)."""

from services.console.store import Base
from shared.db import run_alembic_env

run_alembic_env(Base.metadata)
