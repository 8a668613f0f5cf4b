"""The SLA monitor's response models: a ticket's timers and the timers due soon, as dashboards show them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class TimerPublic(BaseModel):
    """One clock of a ticket as dashboards show it."""

    clock: str
    started_at: datetime
    deadline: datetime
    warning_at: datetime
    provisional: bool  # RULES.md §3: reaches into a year with no schedule loaded
    running: bool
    stopped_by: str | None
    extended: bool
    warned: bool
    breached: bool


class TicketTimersPublic(BaseModel):
    ticket_id: str
    branch: str
    category: str
    complaint_level: int | None
    unit_id: str | None
    division_id: str | None
    closed: bool
    timers: list[TimerPublic]


class DueSoonPublic(BaseModel):
    within_minutes: int
    timers: list[dict[str, Any]]
