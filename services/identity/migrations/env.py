"""Alembic environment of the identity service's database."""

from services.identity.store import Base
from shared.db import run_alembic_env

run_alembic_env(Base.metadata)
