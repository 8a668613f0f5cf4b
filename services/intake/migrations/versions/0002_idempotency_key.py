"""tickets.idempotency_key: a machine client's retried create returns the ticket it already made

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(length=128), nullable=True))
        batch.create_unique_constraint("uq_tickets_branch_idempotency_key", ["branch", "idempotency_key"])


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_constraint("uq_tickets_branch_idempotency_key", type_="unique")
        batch.drop_column("idempotency_key")
