"""Alembic environment of the outbound database."""

from services.outbound.store import Base
from shared.db import run_alembic_env

run_alembic_env(Base.metadata)
