"""ticket_photos: a customer's photos of a self-service request, written with the ticket (issue 21)

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import AwareDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_photos",
        sa.Column("photo_id", sa.String(length=64), primary_key=True),
        sa.Column("ticket_id", sa.String(length=64), sa.ForeignKey("tickets.ticket_id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", AwareDateTime(timezone=True), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_ticket_photos_ticket_id", "ticket_photos", ["ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_ticket_photos_ticket_id", table_name="ticket_photos")
    op.drop_table("ticket_photos")
