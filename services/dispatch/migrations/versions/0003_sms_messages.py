"""sms_messages: the durable queue of urgent-notice SMS to the units' duty phones (issue 21)

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from shared.sms.migration import create_sms_table, drop_sms_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_sms_table()


def downgrade() -> None:
    drop_sms_table()
