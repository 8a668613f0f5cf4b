"""Alembic environment of the reporting service's database."""

from services.reporting.store import Base
from shared.db import run_alembic_env

run_alembic_env(Base.metadata)
