"""The kit's migration helpers create the outbox, inbox and audit tables exactly as the mixins declare them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations

from services.dispatch.store import Base
from shared.migration import create_audit_table, create_inbox_table, create_outbox_table

pytestmark = pytest.mark.unit

KIT_TABLES = ("outbox", "processed_events", "audit_log")


def _differences(*creators: Callable[[], None]) -> list[Any]:
    """What autogenerate would still change after the helpers ran, for the kit's tables only."""
    engine = sa.create_engine("sqlite://")
    with engine.begin() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        with Operations.context(context):
            for create in creators:
                create()
        found = compare_metadata(context, Base.metadata)
    return [d for d in found if any(table in str(d) for table in KIT_TABLES)]


def test_the_helpers_leave_nothing_for_autogenerate_to_change() -> None:
    assert _differences(create_outbox_table, create_inbox_table, create_audit_table) == []


def test_a_table_the_helpers_did_not_create_is_noticed() -> None:
    missing = _differences(create_outbox_table, create_inbox_table)
    assert any(d[0] == "add_table" and d[1].name == "audit_log" for d in missing if isinstance(d, tuple))
