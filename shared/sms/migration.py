"""The `sms_messages` table for a service's Alembic migration (the columns of SmsQueueMixin, once)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def create_sms_table() -> None:
    op.create_table(
        "sms_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("message_key", sa.String(length=200), nullable=False),
        sa.Column("branch", sa.String(length=64), nullable=False),
        sa.Column("ticket_id", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("gateway", sa.String(length=16), nullable=True),
        sa.Column("gateway_ref", sa.String(length=120), nullable=True),
        sa.Column("report_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_messages")),
        sa.UniqueConstraint("message_key", name=op.f("uq_sms_messages_message_key")),
    )
    op.create_index("ix_sms_messages_due", "sms_messages", ["state", "not_before"])


def drop_sms_table() -> None:
    op.drop_index("ix_sms_messages_due", table_name="sms_messages")
    op.drop_table("sms_messages")
