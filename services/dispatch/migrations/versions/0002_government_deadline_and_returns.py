"""tickets: a 12345 task's stricter government deadline, the returns counted per unit; replies: refused (issue 13)

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("external_deadline", shared.db.AwareDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("returns_by_unit", sa.JSON(), nullable=True))
    with op.batch_alter_table("replies") as batch:
        batch.add_column(sa.Column("refused", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("replies") as batch:
        batch.drop_column("refused")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("returns_by_unit")
        batch.drop_column("external_deadline")
