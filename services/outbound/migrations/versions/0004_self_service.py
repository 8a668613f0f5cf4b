"""Customer self-service: sign-in codes, customer sessions, the customer's steps and ratings (issue 21)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_contacts") as batch:
        batch.add_column(sa.Column("status", sa.String(length=16), server_default="received", nullable=False))
    op.create_table(
        "sign_in_codes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("branch", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("wrong", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_codes")),
    )
    op.create_index("ix_sign_in_codes_phone", "sign_in_codes", ["branch", "phone", "created_at"])
    op.create_table(
        "customer_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("branch", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_customer_sessions")),
    )
    op.create_index(op.f("ix_customer_sessions_expires_at"), "customer_sessions", ["expires_at"])
    op.create_table(
        "customer_steps",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.String(length=128), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("appointment_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_steps")),
        sa.UniqueConstraint("event_id", name=op.f("uq_customer_steps_event_id")),
    )
    op.create_index(op.f("ix_customer_steps_ticket_id"), "customer_steps", ["ticket_id"])
    op.create_table(
        "service_ratings",
        sa.Column("ticket_id", sa.String(length=128), nullable=False),
        sa.Column("branch", sa.String(length=64), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_service_ratings")),
    )


def downgrade() -> None:
    op.drop_table("service_ratings")
    op.drop_index(op.f("ix_customer_steps_ticket_id"), table_name="customer_steps")
    op.drop_table("customer_steps")
    op.drop_index(op.f("ix_customer_sessions_expires_at"), table_name="customer_sessions")
    op.drop_table("customer_sessions")
    op.drop_index("ix_sign_in_codes_phone", table_name="sign_in_codes")
    op.drop_table("sign_in_codes")
    with op.batch_alter_table("ticket_contacts") as batch:
        batch.drop_column("status")
