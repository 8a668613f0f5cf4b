"""The agent API of intake: work orders in, first-contact close, alarms, 12345, the ticket view, customers, calls."""

from __future__ import annotations

from services.intake.api.calls import calls
from services.intake.api.customers import customers, screen_pop_for
from services.intake.api.photos import photos
from services.intake.api.tickets import tickets
from shared.http.deps import db_session

__all__ = ["calls", "customers", "db_session", "photos", "screen_pop_for", "tickets"]
