"""Topics, keys, field types, the payload bases and the value objects every event shares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

# The wire values of categories, clocks, levels and reasons are the policy engine's enums, so a
# producer passes what the policy computed and a consumer hands it straight back to the policy.
from shared.policy.limits import ComplaintLevel

# --------------------------------------------------------------------------- topics and keys


class Topic(StrEnum):
    """Kafka topic names; the only place they are spelled."""

    TICKETS = "hotline.tickets"
    SLA = "hotline.sla"
    NOTIFICATIONS = "hotline.notifications"
    CTI_CALLS = "hotline.cti.calls"
    DEADLETTER = "hotline.deadletter"
    KNOWLEDGE = "hotline.knowledge"
    REPORTING = "hotline.reporting"


class KeyKind(StrEnum):
    """Which envelope id keys an event's messages (and so picks its partition)."""

    TICKET = "ticket"
    CALL = "call"
    ARTICLE = "article"
    REPORT = "report"  # a reporting product: a hot spot or a bulletin (hotline.reporting)


# --------------------------------------------------------------------------- field types


def _fixed_offset(value: datetime) -> datetime:
    # A zone-backed datetime (ZoneInfo) would come back from JSON with a plain offset and, near
    # a DST fold, compare unequal to itself; keeping the fixed offset makes what a producer
    # built exactly what a consumer gets. Offsets with seconds (historic LMT) do not survive
    # ISO-8601 with HH:MM offsets, so those instants are kept in UTC instead.
    offset = value.utcoffset()
    if offset is None:  # AwareDatetime has run first
        raise ValueError("a timezone-aware instant is required")
    if offset % timedelta(minutes=1):
        return value.astimezone(UTC)
    return value.astimezone(timezone(offset))


Instant = Annotated[AwareDatetime, AfterValidator(_fixed_offset)]
"""A timezone-aware instant; naive datetimes are rejected."""

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^\S+$")]
"""An id or code: ticket, call, unit, division, agent, branch, rule, reason code..."""

ShortText = Annotated[str, StringConstraints(max_length=2_000)]
SubjectText = Annotated[str, StringConstraints(min_length=1, max_length=2_000)]
"""A complaint subject key as the policy prints it (`str(SubjectKey)`): branch|place|type."""
LongText = Annotated[str, StringConstraints(max_length=20_000)]
PhoneNumber = Annotated[str, StringConstraints(min_length=3, max_length=32)]

Channel = Literal["phone", "gov12345", "web", "app", "walk_in"]
OrgLevel = Literal["unit", "division", "center"]

_MODEL_CONFIG = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=False)


class _Part(BaseModel):
    """A value object nested in a payload."""

    model_config = _MODEL_CONFIG


# --------------------------------------------------------------------------- payload bases


class Payload(BaseModel):
    """Base of every event payload; a concrete class is one (type, version) of the contract."""

    model_config = _MODEL_CONFIG

    event_type: ClassVar[str]
    event_version: ClassVar[int]
    topic: ClassVar[Topic]
    keyed_by: ClassVar[KeyKind] = KeyKind.TICKET
    # dotted paths of the fields holding personal data (RULES.md §6), see the module table
    personal_fields: ClassVar[frozenset[str]] = frozenset()


class TicketPayload(Payload):
    """A work-order lifecycle event on hotline.tickets, keyed by ticket id."""

    topic = Topic.TICKETS


class SlaPayload(Payload):
    """A clock event from the SLA monitor on hotline.sla, keyed by ticket id."""

    topic = Topic.SLA


class NotificationPayload(Payload):
    """A phone / SMS notice on hotline.notifications, keyed by ticket id."""

    topic = Topic.NOTIFICATIONS


class CallPayload(Payload):
    """A telephony event on hotline.cti.calls, keyed by call id (no ticket exists yet)."""

    topic = Topic.CTI_CALLS
    keyed_by = KeyKind.CALL


class KnowledgePayload(Payload):
    """A knowledge-base event on hotline.knowledge, keyed by article id (one article's history in order)."""

    topic = Topic.KNOWLEDGE
    keyed_by = KeyKind.ARTICLE


class ReportingPayload(Payload):
    """A reporting event on hotline.reporting, keyed by report id (the hot spot's or the bulletin's)."""

    topic = Topic.REPORTING
    keyed_by = KeyKind.REPORT


# --------------------------------------------------------------------------- value objects


class CustomerDetails(_Part):
    """Who called and how to reach them: personal data, only in TicketReceived."""

    customer_id: Identifier | None = None  # intake's customer registry id, not personal
    name: ShortText | None = None
    phone: PhoneNumber | None = None
    address: ShortText | None = None
    account_number: Identifier | None = None
    id_card_number: Identifier | None = None
    key_customer: bool = False  # hospital, school, industrial user (RULES.md §9)


class Location(_Part):
    """Coarse place of the request, for routing and complaint subjects; not personal data."""

    province: ShortText | None = None
    city: ShortText | None = None
    district: ShortText | None = None
    community: ShortText | None = None


class ComplaintDetails(_Part):
    """The complaint's subject and the facts that grade it (RULES.md §4)."""

    subject_key: SubjectText  # the agent may link an existing subject, so it is sent, not derived
    place: ShortText
    complaint_type: Identifier
    complainant_count: int = Field(default=1, ge=1)
    collective: bool = False
    litigation: bool = False
    media_exposure: bool = False
    level: ComplaintLevel = ComplaintLevel.MINOR  # the grade at receipt; ComplaintGraded raises it
    preliminary_level: ComplaintLevel | None = None  # the agent's own grade (§14(六))


class CallbackPreference(_Part):
    """What the customer said about being called back (RULES.md §2, §5)."""

    mode: Literal["required", "declined", "customer_time"] = "required"
    requested_at: Instant | None = None

    @model_validator(mode="after")
    def _time_iff_customer_time(self) -> CallbackPreference:
        if (self.mode == "customer_time") != (self.requested_at is not None):
            raise ValueError("requested_at is required exactly when mode is 'customer_time'")
        return self


class Attachment(_Part):
    """A stored file attached to a reply; the bytes live in the storage service, not here."""

    attachment_id: Identifier
    media_type: Annotated[str, StringConstraints(min_length=3, max_length=127)]
    size_bytes: int = Field(ge=0)
    filename: ShortText | None = None


class Recipient(_Part):
    """An org-tree node a notice goes to."""

    org_level: OrgLevel
    org_id: Identifier
