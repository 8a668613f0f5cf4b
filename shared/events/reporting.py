"""The reporting service's events on `hotline.reporting`, keyed by report id (a hot spot's or a bulletin's)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, model_validator

from shared.events.base import Identifier, Instant, ReportingPayload, ShortText

# The wire values of categories are the policy engine's enums (RULES.md §1).
from shared.policy.categories import Category


class HotSpotDetected(ReportingPayload):
    """Calls of one category cluster in one district (or community) within the branch's window (RULES.md §7).

    Emitted once per cluster (its id is deterministic); the banner shows until `active_until`.
    """

    event_type = "HotSpotDetected"
    event_version = 1

    hot_spot_id: Identifier
    category: Category
    district: ShortText
    community: ShortText | None = None
    count: int = Field(ge=1)  # calls in the window when it was detected
    threshold: int = Field(ge=1)
    window_minutes: int = Field(ge=1)
    first_call_at: Instant
    last_call_at: Instant
    active_until: Instant
    message: ShortText


class BulletinPublished(ReportingPayload):
    """A weekly or monthly bulletin (通报) of a branch or a division was published (RULES.md §7, §9(四))."""

    event_type = "BulletinPublished"
    event_version = 1

    bulletin_id: Identifier
    period: Literal["week", "month"]
    period_start: date
    period_end: date  # inclusive
    scope: Literal["branch", "division"]
    division_id: Identifier | None = None
    title: ShortText
    published_by: Identifier  # a supervisor, or "schedule"
    tickets: int = Field(ge=0)
    formats: tuple[Literal["pdf", "xlsx"], ...] = ("pdf", "xlsx")

    @model_validator(mode="after")
    def _division_iff_division_scope(self) -> BulletinPublished:
        if (self.scope == "division") != (self.division_id is not None):
            raise ValueError("division_id is required for, and only for, a division's bulletin")
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        return self
