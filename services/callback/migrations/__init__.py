"""Alembic migrations of the callback service's database."""
