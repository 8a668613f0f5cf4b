"""A minimal service schema (outbox + inbox) used by the tests of the shared service kit."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from shared.db import service_metadata
from shared.inbox import InboxMixin
from shared.outbox import OutboxMixin


class KitBase(DeclarativeBase):
    metadata = service_metadata()


class KitOutbox(OutboxMixin, KitBase):
    pass


class KitInbox(InboxMixin, KitBase):
    pass
