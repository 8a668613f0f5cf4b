"""12345 reply loop: the tickets of 12345 tasks and their reports to the government platform (issue 21)

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "government_tasks",
        sa.Column("ticket_id", sa.String(length=128), nullable=False),
        sa.Column("branch", sa.String(length=64), nullable=False),
        sa.Column("task_id", sa.String(length=128), nullable=False),
        sa.Column("ticket_number", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_government_tasks")),
    )
    op.create_table(
        "government_reports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.String(length=128), nullable=False),
        sa.Column("branch", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ack_id", sa.String(length=128), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_government_reports")),
        sa.UniqueConstraint("event_id", name=op.f("uq_government_reports_event_id")),
    )


def downgrade() -> None:
    op.drop_table("government_reports")
    op.drop_table("government_tasks")
