"""Add call_records.branch with an index.

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
    op.add_column("call_records", sa.Column("branch", sa.String(32), nullable=False, server_default="default"))
    op.create_index("ix_call_records_branch", "call_records", ["branch"])


def downgrade() -> None:
    op.drop_index("ix_call_records_branch", table_name="call_records")
    op.drop_column("call_records", "branch")
