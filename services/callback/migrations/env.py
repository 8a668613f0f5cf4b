"""Alembic environment of the callback service's database."""

from services.callback.store import Base
from shared.db import run_alembic_env

run_alembic_env(Base.metadata)
