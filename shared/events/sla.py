"""The SLA monitor's events (`hotline.sla`) and urgent notices (`hotline.notifications`)."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
)

from shared.events.base import (
    Identifier,
    Instant,
    NotificationPayload,
    PhoneNumber,
    Recipient,
    ShortText,
    SlaPayload,
)

# The wire values of categories, clocks, levels and reasons are the policy engine's enums, so a
# producer passes what the policy computed and a consumer hands it straight back to the policy.
from shared.policy.categories import Category
from shared.policy.limits import ComplaintLevel
from shared.policy.limits import SlaClock as ClockName

# --------------------------------------------------------------------------- SLA monitor


class SlaWarning(SlaPayload):
    """A clock has used the warning share of its limit (policy default 80 %) and still runs."""

    event_type = "SlaWarning"
    event_version = 1

    clock: ClockName
    started_at: Instant
    deadline: Instant
    unit_id: Identifier | None = None  # none for the dispatch clock before dispatch
    division_id: Identifier | None = None
    elapsed_share: float = Field(ge=0, le=1)
    provisional: bool = False  # deadline reaches into a year with no schedule (RULES.md §3)


class SlaBreached(SlaPayload):
    """A clock's deadline passed while it still ran; one per ticket and clock, ever."""

    event_type = "SlaBreached"
    event_version = 1

    clock: ClockName
    deadline: Instant
    unit_id: Identifier | None = None
    division_id: Identifier | None = None
    category: Category
    complaint_level: ComplaintLevel | None = None
    late_by_seconds: float = Field(ge=0)  # detection time minus deadline
    provisional: bool = False


class SlaEscalated(SlaPayload):
    """A breach went up the org tree: to the division at breach, later to the center."""

    event_type = "SlaEscalated"
    event_version = 1

    clock: ClockName
    deadline: Instant
    to_level: Literal["division", "center"]
    to_org_id: Identifier
    unit_id: Identifier | None = None
    division_id: Identifier | None = None
    reason: Literal["breach", "further_limit_passed", "urgent"]
    late_by_seconds: float = Field(ge=0)


class SlaDeadlineMoved(SlaPayload):
    """A running clock's deadline moved after a calendar change (a year's schedule or a branch override loaded)."""

    event_type = "SlaDeadlineMoved"
    event_version = 1

    clock: ClockName
    started_at: Instant
    previous_deadline: Instant
    deadline: Instant
    unit_id: Identifier | None = None
    division_id: Identifier | None = None
    provisional: bool = False  # still reaching into a year with no schedule (RULES.md §3)


# --------------------------------------------------------------------------- notifications


class UrgentNoticeRequested(NotificationPayload):
    """Phone / SMS the people who must act now: an alarm, a level-1 complaint, an escalation.

    For an alarm it is emitted before the back-filled ticket's dispatch, so it carries the
    address and a number to call: the unit must reach the scene without waiting.
    """

    event_type = "UrgentNoticeRequested"
    event_version = 1
    personal_fields = frozenset({"address", "contact_phone"})

    reason: Literal["alarm", "complaint_level_1", "sla_escalation", "urgent_situation"]
    recipients: tuple[Recipient, ...] = Field(min_length=1)
    channels: tuple[Literal["phone", "sms"], ...] = ("phone", "sms")
    category: Category
    message: ShortText
    address: ShortText | None = None
    contact_phone: PhoneNumber | None = None
