"""The event contract: one envelope, every event as a versioned schema, topics, keys and the codec.

Every service speaks to the others only through the events defined here. A message on a topic
is the JSON of an `Event`: the envelope (`event_id`, `type`, `version`, `ticket_id` or
`call_id`, `branch`, `occurred_at`, `producer`, `correlation_id`) around a `payload` whose
schema is picked by `(type, version)` from `REGISTRY`.

Producing::

    event = new_event(
        TicketDispatched(unit_id="U-7", division_id="D-2", category="repair", ...),
        ticket_id="GX-20261128-000123", branch="GX", producer="dispatch",
        correlation_id=str(received.event_id), occurred_at=clock.now(),
    )
    await topic.send(key=message_key(event), value=encode(event))   # topic: event.topic

Consuming::

    try:
        event = decode(message.value)
    except EventDecodeError as exc:
        record = dead_letter_for(message.value, exc, source_topic=..., consumer=..., failed_at=...)
        await deadletter.send(key=record.message_key, value=encode_dead_letter(record))
    else:
        match event.payload:
            case TicketDispatched(unit_id=unit_id): ...

Rules of the contract
---------------------
- `event_id` is the idempotency key: consumers act on an id at most once. Events that must
  exist exactly once whatever the retries (an SLA breach per ticket + clock + kind) take a
  `deterministic_event_id(...)` instead of a random one.
- Versioning: within a version only optional fields (with a default) are ever added; renaming,
  removing, retyping or making a field required is a breaking change and becomes a new class
  registered under the next version (`TicketDispatchedV2`), the old one staying registered as
  long as anything may still emit it. Unknown fields are ignored on decode so that a consumer
  keeps reading a version to which a producer has added an optional field; an unknown type or
  version is never guessed at: `decode` raises and the message goes to the dead-letter topic.
- Every instant is timezone-aware; naive datetimes are rejected. Instants are kept (and sent)
  with the fixed UTC offset they had when the event was built, as ISO-8601 with that offset.
- Keys: ticket events (every topic but `hotline.cti.calls`) carry `ticket_id` and are keyed by
  it, so one ticket's history stays in order on one partition; telephony events know no ticket
  and carry `call_id` instead, keyed by it; knowledge-base events (`hotline.knowledge`) carry
  `article_id` and are keyed by it. `Event.key` gives whichever applies.
- Category, sub-type, clock, complaint level, callback kind and grading / failure reasons are the
  policy engine's enums (`shared.policy`): their values are the keys of RULES.md §1-§5 and are
  the wire format, so changing a value there is a breaking change here.

Personal data (RULES.md §6)
---------------------------
Structured personal data travels only where a consumer needs it; `Payload.personal_fields`
names those fields (dotted paths) and `redacted()` masks them for logs.

=============================  =========================  ===================================
topic                          event                      personal fields
=============================  =========================  ===================================
hotline.tickets                TicketReceived             customer.name, customer.phone,
                                                          customer.address,
                                                          customer.account_number,
                                                          customer.id_card_number
hotline.cti.calls              CallOffered                caller_number
hotline.notifications          UrgentNoticeRequested      address, contact_phone
hotline.knowledge              (none: articles and feedback carry no personal data)
hotline.deadletter             (any, as original bytes)   whatever the original held
=============================  =========================  ===================================

No other event holds structured personal data. Free-text fields (descriptions, results,
comments, the customer's account on reopening) are written by people and may mention some:
treat them as confidential, and never log payloads unredacted.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar, cast

import pydantic_core
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    StringConstraints,
    ValidationError,
    model_validator,
)

# The wire values of categories, clocks, levels and reasons are the policy engine's enums, so a
# producer passes what the policy computed and a consumer hands it straight back to the policy.
from shared.policy.callbacks import FailureReason
from shared.policy.categories import Category
from shared.policy.categories import Subtype as ServiceRequestSubtype
from shared.policy.grading import GradeReason
from shared.policy.limits import CallbackKind, ComplaintLevel
from shared.policy.limits import SlaClock as ClockName
from shared.zones import zoned

__all__ = [
    "REGISTRY",
    "TOPIC_BY_TYPE",
    "ArticleApproved",
    "ArticleDraftEdited",
    "ArticleDrafted",
    "ArticleFeedbackRecorded",
    "ArticlePublished",
    "ArticleRetired",
    "ArticleSentBack",
    "ArticleSubmitted",
    "Attachment",
    "CallAnswered",
    "CallEnded",
    "CallOffered",
    "CallPayload",
    "CallbackAbandoned",
    "CallbackAttempted",
    "CallbackCompleted",
    "CallbackPreference",
    "CallbackScheduled",
    "ComplaintDetails",
    "ComplaintGraded",
    "CustomerContacted",
    "CustomerDetails",
    "DeadLetter",
    "DeadLetterReason",
    "Event",
    "EventDecodeError",
    "ExtensionDenied",
    "ExtensionGranted",
    "ExtensionRequested",
    "InvalidEvent",
    "KeyKind",
    "KnowledgePayload",
    "Location",
    "MalformedEvent",
    "ManualDispatchQueued",
    "NotificationPayload",
    "Payload",
    "Recipient",
    "ReplyApproved",
    "ReplyRejected",
    "SlaBreached",
    "SlaDeadlineMoved",
    "SlaEscalated",
    "SlaPayload",
    "SlaWarning",
    "SupervisionFlagged",
    "TicketAccepted",
    "TicketClosed",
    "TicketDispatched",
    "TicketPayload",
    "TicketReceived",
    "TicketReopened",
    "TicketReplied",
    "TicketResolvedOnFirstContact",
    "TicketReturnRefused",
    "TicketReturned",
    "Topic",
    "UnknownEventType",
    "UnsupportedEventVersion",
    "UrgentNoticeRequested",
    "dead_letter_for",
    "decode",
    "decode_dead_letter",
    "deterministic_event_id",
    "encode",
    "encode_dead_letter",
    "message_key",
    "new_event",
    "payload_class",
    "redacted",
    "topic_for",
]


# --------------------------------------------------------------------------- topics and keys


class Topic(StrEnum):
    """Kafka topic names; the only place they are spelled."""

    TICKETS = "hotline.tickets"
    SLA = "hotline.sla"
    NOTIFICATIONS = "hotline.notifications"
    CTI_CALLS = "hotline.cti.calls"
    DEADLETTER = "hotline.deadletter"
    KNOWLEDGE = "hotline.knowledge"


class KeyKind(StrEnum):
    """Which envelope id keys an event's messages (and so picks its partition)."""

    TICKET = "ticket"
    CALL = "call"
    ARTICLE = "article"


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


# --------------------------------------------------------------------------- intake


class TicketReceived(TicketPayload):
    """A work order was created (by an agent, a 12345 import, or back-filled after an alarm)."""

    event_type = "TicketReceived"
    event_version = 1
    personal_fields = frozenset(
        {
            "customer.name",
            "customer.phone",
            "customer.address",
            "customer.account_number",
            "customer.id_card_number",
        }
    )

    ticket_number: Identifier | None = None  # human-readable, e.g. GX-20261128-000123
    channel: Channel
    category: Category
    subtype: ServiceRequestSubtype | None = None
    received_at: Instant  # the dispatch clock starts here (earlier than occurred_at if back-filled)
    description: LongText = ""
    customer: CustomerDetails = CustomerDetails()
    location: Location = Location()
    complaint: ComplaintDetails | None = None
    hazardous: bool = False
    urgent: bool = False
    callback: CallbackPreference = CallbackPreference()
    owner_agent_id: Identifier | None = None  # first-contact owner (RULES.md §9)
    call_id: Identifier | None = None
    unit_id: Identifier | None = None  # the responsible unit when intake already knows it
    parent_ticket_id: Identifier | None = None  # raised during another ticket's callback
    external_task_id: Identifier | None = None  # the 12345 task
    external_deadline: Instant | None = None  # the government's own deadline, if stricter

    @model_validator(mode="after")
    def _category_details(self) -> TicketReceived:
        if (self.category == "service_request") != (self.subtype is not None):
            raise ValueError("subtype is required for, and only for, category 'service_request'")
        if (self.category == "complaint") != (self.complaint is not None):
            raise ValueError("complaint details are required for, and only for, 'complaint'")
        return self


class TicketResolvedOnFirstContact(TicketPayload):
    """The agent answered on the call and closed the ticket there."""

    event_type = "TicketResolvedOnFirstContact"
    event_version = 1

    agent_id: Identifier
    answer: LongText
    knowledge_article_id: Identifier | None = None


class ComplaintGraded(TicketPayload):
    """A complaint's level was set or raised; the SLA monitor recomputes its `handle` deadline."""

    event_type = "ComplaintGraded"
    event_version = 1

    level: ComplaintLevel
    previous_level: ComplaintLevel | None = None
    subject_key: SubjectText
    reasons: tuple[GradeReason, ...] = Field(min_length=1)
    reason_text: ShortText = ""
    distinct_complainants: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _only_rises(self) -> ComplaintGraded:
        # level 1 is the most severe: a grade only goes up (RULES.md §4)
        if self.previous_level is not None and self.level > self.previous_level:
            raise ValueError("a complaint grade only goes up (level 1 is the most severe)")
        return self


# --------------------------------------------------------------------------- dispatch


class TicketDispatched(TicketPayload):
    """The ticket was sent to a unit; also a re-dispatch after a return or a correction.

    It restates the classification as dispatched (which a correction may have changed), so
    the SLA monitor can start the unit clocks from this event alone.
    """

    event_type = "TicketDispatched"
    event_version = 1

    unit_id: Identifier
    division_id: Identifier
    category: Category
    subtype: ServiceRequestSubtype | None = None
    # as dispatch knows it; ComplaintGraded is authoritative and only raises it, so a consumer
    # keeps the most severe level it has seen
    complaint_level: ComplaintLevel | None = None
    mode: Literal["automatic", "manual"]
    rule_id: Identifier | None = None  # the routing rule that decided, when automatic
    dispatcher_id: Identifier | None = None  # the center supervisor, when manual
    previous_unit_id: Identifier | None = None  # set on a re-dispatch
    dispatch_count: int = Field(default=1, ge=1)
    # the branch's customer-service center as the org tree names it (where escalations end, RULES.md §8)
    center_id: Identifier | None = None
    # a 12345 task's government deadline when stricter than the policy's (§6): it caps every clock
    external_deadline: Instant | None = None


class ManualDispatchQueued(TicketPayload):
    """No rule could route the ticket: it waits in the center's manual-dispatch queue."""

    event_type = "ManualDispatchQueued"
    event_version = 1

    # consumer_failed: dispatch could not handle the ticket (its event is on the dead-letter topic)
    reason: Literal["no_matching_rule", "ambiguous_rules", "returned", "corrected", "consumer_failed"]
    reason_text: ShortText = ""


class TicketAccepted(TicketPayload):
    """The unit took the ticket on."""

    event_type = "TicketAccepted"
    event_version = 1

    unit_id: Identifier
    handler_id: Identifier


class CustomerContacted(TicketPayload):
    """The unit reached the customer; stops the `contact` clock at `contacted_at`."""

    event_type = "CustomerContacted"
    event_version = 1

    unit_id: Identifier
    handler_id: Identifier
    contacted_at: Instant
    method: Literal["phone", "sms", "visit", "other"]
    appointment_at: Instant | None = None
    note: ShortText = ""


class TicketReturned(TicketPayload):
    """The unit sent the ticket back to the center (RULES.md §2, §15(三))."""

    event_type = "TicketReturned"
    event_version = 1

    unit_id: Identifier
    handler_id: Identifier
    reason: Literal["outside_duties", "wrong_or_missing_information", "customer_unreachable"]
    reason_text: ShortText = ""


class TicketReturnRefused(TicketPayload):
    """The center refused a unit's return: the ticket stays with that unit."""

    event_type = "TicketReturnRefused"
    event_version = 1

    unit_id: Identifier
    supervisor_id: Identifier
    reason_text: ShortText = ""


class ExtensionRequested(TicketPayload):
    """The unit asked for more time on one clock, before its deadline."""

    event_type = "ExtensionRequested"
    event_version = 1

    request_id: Identifier
    unit_id: Identifier
    handler_id: Identifier
    clock: ClockName
    current_deadline: Instant
    requested_deadline: Instant
    reason_text: ShortText

    @model_validator(mode="after")
    def _later(self) -> ExtensionRequested:
        if self.requested_deadline <= self.current_deadline:
            raise ValueError("requested_deadline must be later than current_deadline")
        return self


class ExtensionGranted(TicketPayload):
    """The center approved an extension: the clock's deadline moves to `new_deadline`."""

    event_type = "ExtensionGranted"
    event_version = 1

    request_id: Identifier
    unit_id: Identifier
    clock: ClockName
    new_deadline: Instant
    supervisor_id: Identifier


class ExtensionDenied(TicketPayload):
    """The center refused an extension: the deadline stays."""

    event_type = "ExtensionDenied"
    event_version = 1

    request_id: Identifier
    unit_id: Identifier
    clock: ClockName
    supervisor_id: Identifier
    reason_text: ShortText = ""


class TicketReplied(TicketPayload):
    """The unit's reply reached the center; the `callback` clock runs from this event."""

    event_type = "TicketReplied"
    event_version = 1

    reply_id: Identifier
    unit_id: Identifier
    handler_id: Identifier
    result: LongText
    opinion: LongText = ""
    attachments: tuple[Attachment, ...] = ()
    # RULES.md §2: a service request the unit refuses is explained and fed back within 2 wd
    refused: bool = False


class ReplyApproved(TicketPayload):
    """The center accepted the unit's reply; the ticket goes to callback."""

    event_type = "ReplyApproved"
    event_version = 1

    reply_id: Identifier
    unit_id: Identifier
    reviewer_id: Identifier
    reply_received_at: Instant  # the start of the callback clock


class ReplyRejected(TicketPayload):
    """The center sent the reply back to the unit."""

    event_type = "ReplyRejected"
    event_version = 1

    reply_id: Identifier
    unit_id: Identifier
    reviewer_id: Identifier
    reason: Identifier  # a code, e.g. incomplete, inaccurate, missing_evidence
    reason_text: ShortText = ""


class SupervisionFlagged(TicketPayload):
    """A supervisor put a supervision flag (督办) or a spot-check mark on the ticket."""

    event_type = "SupervisionFlagged"
    event_version = 1

    kind: Literal["supervision", "spot_check"]
    supervisor_id: Identifier
    org_level: OrgLevel
    note: ShortText = ""


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


# --------------------------------------------------------------------------- callback


class CallbackScheduled(TicketPayload):
    """A callback attempt was planned (first one, a customer-set time, or a retry)."""

    event_type = "CallbackScheduled"
    event_version = 1

    callback_id: Identifier
    kind: CallbackKind
    due_at: Instant  # the callback clock's deadline
    scheduled_for: Instant  # the slot of the next attempt
    attempt_number: int = Field(ge=1)
    reason: Literal["reply_received", "customer_requested", "retry"]


class CallbackAttempted(TicketPayload):
    """An agent called the customer; the first attempt stops the `callback` clock."""

    event_type = "CallbackAttempted"
    event_version = 1

    callback_id: Identifier
    attempt_number: int = Field(ge=1)
    agent_id: Identifier
    outcome: Literal["reached", "asked_another_time"] | FailureReason


class CallbackCompleted(TicketPayload):
    """The customer was reached and answered; carries the survey for satisfaction statistics."""

    event_type = "CallbackCompleted"
    event_version = 1

    callback_id: Identifier
    kind: CallbackKind
    agent_id: Identifier
    unit_id: Identifier
    division_id: Identifier
    category: Category
    problem_solved: bool | None = None  # surveys only
    satisfaction: int | None = Field(default=None, ge=1, le=5)  # surveys only
    comment: ShortText = ""


class CallbackAbandoned(TicketPayload):
    """The customer could not be reached after the required attempts (RULES.md §5)."""

    event_type = "CallbackAbandoned"
    event_version = 1

    callback_id: Identifier
    attempts: int = Field(ge=1)
    last_outcome: FailureReason
    reason_text: ShortText


class TicketReopened(TicketPayload):
    """The ticket went back to the unit; its `resolve` clock starts again from here."""

    event_type = "TicketReopened"
    event_version = 1

    unit_id: Identifier
    reason: Literal["reply_does_not_match_facts"]
    customer_account: LongText  # what the customer said on the callback
    callback_id: Identifier | None = None
    agent_id: Identifier


class TicketClosed(TicketPayload):
    """The ticket's life is over; every clock still running stops."""

    event_type = "TicketClosed"
    event_version = 1

    reason: Literal[
        "callback_completed",
        "callback_abandoned",
        "no_callback_owed",
        "closed_by_center",
    ]
    reason_text: ShortText = ""
    closed_by: Identifier | None = None


# --------------------------------------------------------------------------- telephony (CTI)


class CallOffered(CallPayload):
    """A call rang in a hotline queue: the screen pop looks the caller up by number."""

    event_type = "CallOffered"
    event_version = 1
    personal_fields = frozenset({"caller_number"})

    caller_number: PhoneNumber | None = None  # None when the caller withheld it
    dialled_number: PhoneNumber
    queue: Identifier | None = None
    extension: Identifier | None = None  # the agent's extension the call rings at (the console pops it there)


class CallAnswered(CallPayload):
    """An agent picked the call up."""

    event_type = "CallAnswered"
    event_version = 1

    agent_id: Identifier
    queue: Identifier | None = None


class CallEnded(CallPayload):
    """The call hung up; unanswered means abandoned."""

    event_type = "CallEnded"
    event_version = 1

    answered: bool
    agent_id: Identifier | None = None
    talk_seconds: float | None = Field(default=None, ge=0)
    ended_by: Literal["caller", "agent", "system"] | None = None
    recording_ref: ShortText | None = None


# --------------------------------------------------------------------------- knowledge base


class ArticleDrafted(KnowledgePayload):
    """A unit or division started an article, or a new version of a published one (版本 `version`)."""

    event_type = "ArticleDrafted"
    event_version = 1

    version: int = Field(ge=1)
    title: ShortText
    category: Category
    subtype: ServiceRequestSubtype | None = None
    owner_unit: Identifier | None = None
    owner_division: Identifier | None = None
    author_id: Identifier
    group_wide: bool = False
    imported: bool = False  # loaded from an existing FAQ by `hotline knowledge import`


class ArticleDraftEdited(KnowledgePayload):
    """A draft version was changed by its writers."""

    event_type = "ArticleDraftEdited"
    event_version = 1

    version: int = Field(ge=1)
    editor_id: Identifier
    title: ShortText


class ArticleSubmitted(KnowledgePayload):
    """A draft version went to the owner's division for review (审核)."""

    event_type = "ArticleSubmitted"
    event_version = 1

    version: int = Field(ge=1)
    submitter_id: Identifier
    owner_division: Identifier | None = None


class ArticleApproved(KnowledgePayload):
    """The division approved a version; it waits for the center to publish it."""

    event_type = "ArticleApproved"
    event_version = 1

    version: int = Field(ge=1)
    reviewer_id: Identifier
    notes: ShortText = ""


class ArticleSentBack(KnowledgePayload):
    """A reviewer sent a version back to its writers with notes; it is a draft again."""

    event_type = "ArticleSentBack"
    event_version = 1

    version: int = Field(ge=1)
    reviewer_id: Identifier
    notes: ShortText


class ArticlePublished(KnowledgePayload):
    """The center published a version: agents find it from now on; the previous one is superseded."""

    event_type = "ArticlePublished"
    event_version = 1

    version: int = Field(ge=1)
    publisher_id: Identifier
    title: ShortText
    category: Category
    subtype: ServiceRequestSubtype | None = None
    previous_version: int | None = Field(default=None, ge=1)
    review_by: date | None = None  # after this date (branch zone) agents see it flagged as possibly stale


class ArticleRetired(KnowledgePayload):
    """The article was withdrawn from search with a reason."""

    event_type = "ArticleRetired"
    event_version = 1

    version: int = Field(ge=1)
    retired_by: Identifier
    reason: SubjectText


class ArticleFeedbackRecorded(KnowledgePayload):
    """An agent said whether an article helped on a ticket (the improvement loop, 优化)."""

    event_type = "ArticleFeedbackRecorded"
    event_version = 1

    version: int = Field(ge=1)
    agent_id: Identifier
    ticket_id: Identifier
    helpful: bool
    comment: ShortText = ""


# --------------------------------------------------------------------------- registry

_PAYLOADS: tuple[type[Payload], ...] = (
    TicketReceived,
    TicketResolvedOnFirstContact,
    ComplaintGraded,
    TicketDispatched,
    ManualDispatchQueued,
    TicketAccepted,
    CustomerContacted,
    TicketReturned,
    TicketReturnRefused,
    ExtensionRequested,
    ExtensionGranted,
    ExtensionDenied,
    TicketReplied,
    ReplyApproved,
    ReplyRejected,
    SupervisionFlagged,
    SlaWarning,
    SlaBreached,
    SlaEscalated,
    SlaDeadlineMoved,
    UrgentNoticeRequested,
    CallbackScheduled,
    CallbackAttempted,
    CallbackCompleted,
    CallbackAbandoned,
    TicketReopened,
    TicketClosed,
    CallOffered,
    CallAnswered,
    CallEnded,
    ArticleDrafted,
    ArticleDraftEdited,
    ArticleSubmitted,
    ArticleApproved,
    ArticleSentBack,
    ArticlePublished,
    ArticleRetired,
    ArticleFeedbackRecorded,
)


def _build_registry(
    payloads: tuple[type[Payload], ...],
) -> tuple[dict[tuple[str, int], type[Payload]], dict[str, Topic]]:
    # checked at import so a contract mistake fails every test and every service at start-up
    registry: dict[tuple[str, int], type[Payload]] = {}
    topics: dict[str, Topic] = {}
    for cls in payloads:
        key = (cls.event_type, cls.event_version)
        if key in registry:
            raise RuntimeError(f"event {key} is registered twice")
        if cls.event_version < 1:
            raise RuntimeError(f"event {key}: versions start at 1")
        if topics.setdefault(cls.event_type, cls.topic) is not cls.topic:
            raise RuntimeError(f"every version of {cls.event_type} must share one topic")
        registry[key] = cls
    return registry, topics


_registry, _topics = _build_registry(_PAYLOADS)
REGISTRY: Mapping[tuple[str, int], type[Payload]] = MappingProxyType(_registry)
"""(type, version) -> payload class: the whole contract."""
TOPIC_BY_TYPE: Mapping[str, Topic] = MappingProxyType(_topics)
"""Event type -> the topic its messages go to."""
_REGISTERED = frozenset(_registry.values())


def payload_class(event_type: str, version: int) -> type[Payload]:
    """The payload class of (type, version), or `UnknownEventType` / `UnsupportedEventVersion`."""
    cls = REGISTRY.get((event_type, version))
    if cls is not None:
        return cls
    if event_type not in TOPIC_BY_TYPE:
        raise UnknownEventType(event_type)
    known = tuple(sorted(v for (t, v) in REGISTRY if t == event_type))
    raise UnsupportedEventVersion(event_type, version, known)


def topic_for(event_type: str | type[Payload] | Payload | Event[Any]) -> Topic:
    """The topic of an event, given its type name, payload class, payload or whole event."""
    if isinstance(event_type, Event):
        return event_type.topic
    if isinstance(event_type, str):
        try:
            return TOPIC_BY_TYPE[event_type]
        except KeyError:
            raise UnknownEventType(event_type) from None
    return event_type.topic


# --------------------------------------------------------------------------- envelope

P = TypeVar("P", bound=Payload)


class Event(BaseModel, Generic[P]):
    """The envelope every message carries; build it with `new_event`."""

    model_config = _MODEL_CONFIG

    event_id: uuid.UUID
    type: Identifier
    version: int = Field(ge=1)
    ticket_id: Identifier | None = None
    call_id: Identifier | None = None
    article_id: Identifier | None = None  # knowledge events only (KeyKind.ARTICLE)
    branch: Identifier
    occurred_at: Instant
    producer: Identifier
    correlation_id: Identifier
    payload: SerializeAsAny[P]

    @model_validator(mode="after")
    def _consistent(self) -> Event[P]:
        cls = type(self.payload)
        # a bare `Event.model_validate(...)` would read the payload as the empty base class and
        # drop every field; only registered payload classes make an event (use `decode`)
        if cls not in _REGISTERED:
            raise ValueError(f"{cls.__name__} is not a registered event payload; decode with decode()")
        if (self.type, self.version) != (cls.event_type, cls.event_version):
            raise ValueError(
                f"type/version {self.type}/{self.version} do not match the payload "
                f"{cls.__name__} ({cls.event_type}/{cls.event_version})"
            )
        ids = {KeyKind.TICKET: self.ticket_id, KeyKind.CALL: self.call_id, KeyKind.ARTICLE: self.article_id}
        if ids[cls.keyed_by] is None or any(v is not None for k, v in ids.items() if k is not cls.keyed_by):
            others = ", ".join(f"no {k.value}_id" for k in ids if k is not cls.keyed_by)
            raise ValueError(f"{self.type} is keyed by {cls.keyed_by.value}: {cls.keyed_by.value}_id only, {others}")
        return self

    @property
    def key(self) -> str:
        """The message key: the ticket id, the call id for telephony events, the article id for knowledge."""
        keyed_by = self.payload.keyed_by
        key = {KeyKind.CALL: self.call_id, KeyKind.ARTICLE: self.article_id}.get(keyed_by, self.ticket_id)
        if key is None:  # guaranteed by _consistent
            raise ValueError(f"{self.type} has no message key")
        return key

    @property
    def topic(self) -> Topic:
        """The topic this event is published on."""
        return self.payload.topic


def new_event(
    payload: P,
    *,
    branch: str,
    producer: str,
    correlation_id: str,
    occurred_at: datetime,
    ticket_id: str | None = None,
    call_id: str | None = None,
    event_id: uuid.UUID | None = None,
    article_id: str | None = None,
) -> Event[P]:
    """Wrap a payload in its envelope, with a fresh uuid4 unless an `event_id` is given.

    `occurred_at` comes from the caller's clock (never read here); pass
    `event_id=deterministic_event_id(...)` for an event that must exist only once.
    Raises `InvalidEvent` on a bad envelope (naive time, missing or extra key id...).
    """
    cls = type(payload)
    if cls not in _REGISTERED:
        msg = f"{cls.__name__} is not a registered event payload"
        raise InvalidEvent(None, None, [{"loc": "payload", "type": "unregistered", "msg": msg}])
    # what people read of a payload is on their branch's wall clock, with its offset (DESIGN.md "Time");
    # the envelope's occurred_at keeps the producer's own offset
    payload = zoned(payload, branch)
    try:
        return Event[cls](  # type: ignore[valid-type]
            event_id=event_id if event_id is not None else uuid.uuid4(),
            type=cls.event_type,
            version=cls.event_version,
            ticket_id=ticket_id,
            call_id=call_id,
            article_id=article_id,
            branch=branch,
            occurred_at=occurred_at,
            producer=producer,
            correlation_id=correlation_id,
            payload=payload,
        )
    except ValidationError as exc:
        raise InvalidEvent(cls.event_type, cls.event_version, exc) from exc


# Fixed for ever: changing it would change every deterministic id already emitted.
_EVENT_ID_NAMESPACE = uuid.UUID("6f1c2a4e-9b0d-5e3a-8c71-0d2f4b6a8e13")


def deterministic_event_id(*parts: str | int | uuid.UUID) -> uuid.UUID:
    """A uuid5 of the parts, for events emitted exactly once whatever the retries.

    E.g. `deterministic_event_id("SlaBreached", ticket_id, "resolve")`: a redelivered or
    recomputed breach gets the same id, and consumers drop it as a duplicate.
    """
    if not parts:
        raise ValueError("deterministic_event_id needs at least one part")
    # JSON of the parts' text keeps ("a", "b c") and ("a b", "c") apart
    name = pydantic_core.to_json([str(p) for p in parts]).decode()
    return uuid.uuid5(_EVENT_ID_NAMESPACE, name)


def message_key(event: Event[Any]) -> bytes:
    """The Kafka message key of an event (UTF-8 of `event.key`)."""
    return event.key.encode()


def redacted(event: Event[Any], mask: str = "***") -> dict[str, Any]:
    """The event as a JSON-ready dict with its personal fields masked, for logs."""
    data = event.model_dump(mode="json")
    for path in event.payload.personal_fields:
        *parents, leaf = path.split(".")
        node: Any = data["payload"]
        for name in parents:
            node = node.get(name) if isinstance(node, dict) else None
        if isinstance(node, dict) and node.get(leaf) is not None:
            node[leaf] = mask
    return data


# --------------------------------------------------------------------------- codec


class EventDecodeError(ValueError):
    """A message that is not a valid event of the contract; it belongs on the dead-letter topic."""

    reason: ClassVar[DeadLetterReason]


class MalformedEvent(EventDecodeError):
    """The bytes are not a JSON object."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"malformed event: {detail}")
        self.detail = detail


class UnknownEventType(EventDecodeError):
    """The `type` is not in the contract."""

    def __init__(self, event_type: str) -> None:
        super().__init__(f"unknown event type {event_type!r}")
        self.event_type = event_type


class UnsupportedEventVersion(EventDecodeError):
    """The type is known but this `version` of it is not."""

    def __init__(self, event_type: str, version: int, known_versions: tuple[int, ...]) -> None:
        known = ", ".join(map(str, known_versions))
        super().__init__(f"unsupported version {version} of event {event_type!r} (known: {known})")
        self.event_type = event_type
        self.version = version
        self.known_versions = known_versions


class InvalidEvent(EventDecodeError):
    """Known type and version, but fields are missing or wrong; `errors` lists them."""

    def __init__(
        self,
        event_type: str | None,
        version: int | None,
        error: ValidationError | list[dict[str, Any]],
    ) -> None:
        if isinstance(error, ValidationError):
            errors = [
                {"loc": ".".join(map(str, e["loc"])), "type": e["type"], "msg": e["msg"]}
                for e in error.errors(include_url=False, include_input=False)
            ]
        else:
            errors = error
        what = f"{event_type} v{version}" if event_type is not None else "event"
        fields = "; ".join(f"{e['loc'] or '(root)'}: {e['msg']}" for e in errors)
        super().__init__(f"invalid {what}: {fields}")
        self.event_type = event_type
        self.version = version
        # [{"loc": "payload.unit_id", "type": "missing", "msg": "Field required"}, ...]
        self.errors: list[dict[str, Any]] = errors


def encode(event: Event[Any]) -> bytes:
    """The event's JSON bytes, as published; instants are ISO-8601 with their UTC offset."""
    return event.model_dump_json().encode()


def decode(data: bytes | bytearray | str) -> Event[Payload]:
    """Parse and validate one message; never guesses an unknown type or version.

    Raises `MalformedEvent`, `UnknownEventType`, `UnsupportedEventVersion` or `InvalidEvent`
    (all `EventDecodeError`).
    """
    try:
        raw = pydantic_core.from_json(data)
    except ValueError as exc:
        raise MalformedEvent(f"not JSON ({exc})") from exc
    if not isinstance(raw, dict):
        raise MalformedEvent(f"not a JSON object but {type(raw).__name__}")
    event_type, version = raw.get("type"), raw.get("version")
    head_errors = []
    if not isinstance(event_type, str):
        head_errors.append({"loc": "type", "type": "missing", "msg": "a string is required"})
    # bool is an int in Python, and 1.0 is not a version: both rejected here, not coerced
    if type(version) is not int:
        head_errors.append({"loc": "version", "type": "missing", "msg": "an integer is required"})
    if head_errors or not isinstance(event_type, str) or not isinstance(version, int):
        raise InvalidEvent(event_type if isinstance(event_type, str) else None, None, head_errors)
    cls = payload_class(event_type, version)
    try:
        return cast(Event[Payload], Event[cls].model_validate(raw))  # type: ignore[valid-type]
    except ValidationError as exc:
        raise InvalidEvent(event_type, version, exc) from exc


# --------------------------------------------------------------------------- dead letters


class DeadLetterReason(StrEnum):
    """Why a consumer gave a message up."""

    MALFORMED = "malformed"
    UNKNOWN_TYPE = "unknown_type"
    UNSUPPORTED_VERSION = "unsupported_version"
    INVALID = "invalid"
    HANDLER_FAILED = "handler_failed"


MalformedEvent.reason = DeadLetterReason.MALFORMED
UnknownEventType.reason = DeadLetterReason.UNKNOWN_TYPE
UnsupportedEventVersion.reason = DeadLetterReason.UNSUPPORTED_VERSION
InvalidEvent.reason = DeadLetterReason.INVALID


class DeadLetter(BaseModel):
    """A message a consumer could not use, as sent to hotline.deadletter with the original key.

    It holds the original bytes untouched (so it may hold personal data) so that it can be
    replayed once the consumer or the contract is fixed.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    original_b64: str  # base64 of the original message value
    original_key_b64: str | None = None
    source_topic: ShortText
    partition: int | None = None
    offset: int | None = None
    consumer: Identifier  # the consumer group (service) that gave up
    reason: DeadLetterReason
    error: LongText
    errors: tuple[dict[str, Any], ...] = ()  # field errors of an InvalidEvent
    event_type: str | None = None
    event_version: int | None = None
    failed_at: Instant

    @property
    def original(self) -> bytes:
        """The original message value."""
        return base64.b64decode(self.original_b64)

    @property
    def message_key(self) -> bytes | None:
        """Key for the dead-letter topic: the original key, so replays keep per-ticket order."""
        return None if self.original_key_b64 is None else base64.b64decode(self.original_key_b64)


def dead_letter_for(
    original: bytes,
    error: BaseException,
    *,
    source_topic: str,
    consumer: str,
    failed_at: datetime,
    key: bytes | None = None,
    partition: int | None = None,
    offset: int | None = None,
) -> DeadLetter:
    """The dead-letter record of a message that failed to decode or to be handled."""
    reason = error.reason if isinstance(error, EventDecodeError) else DeadLetterReason.HANDLER_FAILED
    return DeadLetter(
        original_b64=base64.b64encode(original).decode("ascii"),
        original_key_b64=None if key is None else base64.b64encode(key).decode("ascii"),
        source_topic=source_topic,
        partition=partition,
        offset=offset,
        consumer=consumer,
        reason=reason,
        error=f"{type(error).__name__}: {error}"[:20_000],
        errors=tuple(error.errors) if isinstance(error, InvalidEvent) else (),
        event_type=getattr(error, "event_type", None),
        event_version=getattr(error, "version", None),
        failed_at=failed_at,
    )


def encode_dead_letter(record: DeadLetter) -> bytes:
    """The JSON bytes of a dead-letter record."""
    return record.model_dump_json().encode()


def decode_dead_letter(data: bytes | bytearray | str) -> DeadLetter:
    """Parse a dead-letter record (for replay tools); raises pydantic's ValidationError."""
    return DeadLetter.model_validate_json(data)
