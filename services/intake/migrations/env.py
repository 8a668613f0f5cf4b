"""Alembic environment of intake's database."""

from services.intake.store import Base
from shared.db import run_alembic_env

run_alembic_env(Base.metadata)
