"""outbound schema: ticket contacts, opt-outs, the SMS queue, outbox, inbox (issue 21)

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.migration import create_inbox_table, create_outbox_table, drop_inbox_table, drop_outbox_table
from shared.sms.migration import create_sms_table, drop_sms_table

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_outbox_table()
    create_inbox_table()
    op.create_table(
        "ticket_contacts",
        sa.Column("ticket_id", sa.String(length=128), nullable=False),
        sa.Column("branch", sa.String(length=64), nullable=False),
        sa.Column("ticket_number", sa.String(length=128), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_contacts")),
    )
    op.create_table(
        "opt_outs",
        sa.Column("branch", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("branch", "phone", name=op.f("pk_opt_outs")),
    )
    create_sms_table()


def downgrade() -> None:
    drop_sms_table()
    op.drop_table("opt_outs")
    op.drop_table("ticket_contacts")
    drop_inbox_table()
    drop_outbox_table()
