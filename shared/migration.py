"""The kit's tables for a service's Alembic migration, written once: the outbox, the inbox, the audit log.

Their columns are those of `shared.outbox.OutboxMixin`, `shared.inbox.InboxMixin` and
`shared.auth.audit.AuditRecordMixin`; a service's first migration calls `create_*_table()` in `upgrade()` and
`drop_*_table()` in `downgrade()` instead of repeating them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_AUDIT_INDEXED = ("action", "at", "branch", "subject", "ticket_id")


def _serial() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def create_outbox_table() -> None:
    """`outbox`: events staged in the writing transaction, sent by the relay (shared/outbox.py)."""
    op.create_table(
        "outbox",
        sa.Column("id", _serial(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=128), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
    )
    # the partial index the relay reads pending rows through (both dialects the tests use)
    unsent = sa.text("sent_at IS NULL")
    op.create_index("ix_outbox_unsent", "outbox", ["id"], unique=False, postgresql_where=unsent, sqlite_where=unsent)


def drop_outbox_table() -> None:
    unsent = sa.text("sent_at IS NULL")
    op.drop_index("ix_outbox_unsent", table_name="outbox", postgresql_where=unsent, sqlite_where=unsent)
    op.drop_table("outbox")


def create_inbox_table() -> None:
    """`processed_events`: the event ids a consumer has applied, so a redelivery is dropped (shared/inbox.py)."""
    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_processed_events")),
    )


def drop_inbox_table() -> None:
    op.drop_table("processed_events")


def create_audit_table() -> None:
    """`audit_log`: who revealed or queried what, when and why (RULES.md §6; shared/auth/audit.py)."""
    op.create_table(
        "audit_log",
        sa.Column("id", _serial(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("service", sa.String(length=40), nullable=False),
        sa.Column("branch", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("token_id", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("ticket_id", sa.String(length=64), nullable=True),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("field", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    for column in _AUDIT_INDEXED:
        op.create_index(op.f(f"ix_audit_log_{column}"), "audit_log", [column], unique=False)


def drop_audit_table() -> None:
    for column in reversed(_AUDIT_INDEXED):
        op.drop_index(op.f(f"ix_audit_log_{column}"), table_name="audit_log")
    op.drop_table("audit_log")
